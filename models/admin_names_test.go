package models

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

// An admin's name is one name whatever its case, on both databases: SQLite
// compares it with NOCASE, PostgreSQL through lower() on a "C" column.
func TestAdminNamesIgnoreCase(t *testing.T) {
	onEachDatabase(t, func(t *testing.T, db *DB) {
		ctx := context.Background()
		policy := DefaultAdminPolicy()
		policy.BcryptCost = 4 // bcrypt's minimum: the test is not about its cost
		admins := NewAdmins(db, NewFakeClock(time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)), policy)
		const password = "a long enough password"
		for _, name := range []string{"carol", "Alice", "bob"} {
			if _, err := admins.Create(ctx, name, RoleOperator, password, ActorSystem, ClientInfo{}); err != nil {
				t.Fatalf("create %s: %v", name, err)
			}
		}
		if _, err := admins.Create(ctx, "ALICE", RoleViewer, password, ActorSystem, ClientInfo{}); !errors.Is(err, ErrAdminExists) {
			t.Errorf("a second Alice in capitals: %v, want ErrAdminExists", err)
		}
		a, _, _, err := admins.Login(ctx, admins.NewLoginForm(), "aLiCe", password, ClientInfo{IP: "192.0.2.1"}, 0)
		if err != nil || a.Name != "Alice" {
			t.Fatalf("sign-in as aLiCe: %v %v", a, err)
		}
		if err := admins.ResetPassword(ctx, "ALICE", "another long password", ActorSystem, ClientInfo{}); err != nil {
			t.Errorf("reset the password of ALICE: %v", err)
		}
		if n, err := admins.RevokeSessionsByName(ctx, "alice", ActorSystem); err != nil || n != 0 {
			t.Errorf("revoke alice's sessions: %d %v (the reset ended the only one)", n, err)
		}
		rows, err := admins.ListAdmins(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, r := range rows {
			names = append(names, r.Name)
		}
		if got := fmt.Sprint(names); got != "[Alice bob carol]" {
			t.Errorf("admins listed as %s, want [Alice bob carol]", got)
		}
	})
}
