package models

// ReasonBadApp: the app id is not one this server serves.
const ReasonBadApp Reason = "bad_app"

// checkApp refuses app ids outside the configured allow-list.
func (s *SignIn) checkApp(appID string) *RefusedError {
	if len(s.cfg.AppIDs) == 0 {
		return nil
	}
	for _, a := range s.cfg.AppIDs {
		if a == appID {
			return nil
		}
	}
	return &RefusedError{Reason: ReasonBadApp, Message: "This app (appid) is not served by this server."}
}
