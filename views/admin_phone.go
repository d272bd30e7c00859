package views

import "github.com/nyaruka/phonenumbers"

// phoneText writes an E.164 number as people write it: international
// format with the country's grouping ("+1 201-555-0123"). A number the
// library cannot read is shown as stored.
func phoneText(e164 string) string {
	n, err := phonenumbers.Parse(e164, "")
	if err != nil {
		return e164
	}
	return phonenumbers.Format(n, phonenumbers.INTERNATIONAL)
}
