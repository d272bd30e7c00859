package mesibo

import (
	"context"
)

// The message op: contact notices sent as mesibo messages.

// Message is one message sent through mesibo.
type Message struct {
	From, To      string
	Type          int
	ExpirySeconds int
	Flags         int
	Forced        bool
	Body          string
}

// Send sends a message (messaging page): {"op":"message","token":APP_TOKEN,
// "message":{"from":…,"to":…,"type":…,"expiry":SECONDS,"flags":…,
// "forced":…,"message":…}}, and returns mesibo's message id.
func (c *Client) Send(ctx context.Context, m Message) (string, error) {
	r, err := c.call(ctx, request{Op: "message", Message: &messageReq{From: m.From, To: m.To, Type: m.Type,
		Expiry: m.ExpirySeconds, Flags: m.Flags, Forced: m.Forced, Message: m.Body}})
	if err != nil {
		return "", err
	}
	return string(r.Mid), nil
}
