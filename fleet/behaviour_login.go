package fleet

import (
	"context"
	"errors"
	"time"

	"github.com/eixamsim/eixamsim/contract"
	"github.com/eixamsim/eixamsim/errclass"
	"github.com/eixamsim/eixamsim/metrics"
	"github.com/eixamsim/eixamsim/scenario"
)

var _ behaviour = (*login)(nil)

// login is the SDK's setSession sequence (contract §6.1), run once per
// life before the MQTT connection: the steps of behaviours.login in
// order, GET /v1/sdk/me for the canonical id and GET /v1/sdk/sos to
// rehydrate.
type login struct {
	steps  []string // scenario.LoginMe, scenario.LoginSOSRehydrate
	http   *sdkHTTP
	me     *metrics.Latency
	sosGet *metrics.Latency
}

func newLogin(e env) behaviour {
	if len(e.sc.Behaviours.Login) == 0 {
		return nil
	}
	return &login{
		steps:  e.sc.Behaviours.Login,
		http:   e.http,
		me:     e.reg.Latency(scenario.HTTPMe),
		sosGet: e.reg.Latency(scenario.HTTPSOSGet),
	}
}

func (b *login) when() trigger { return trigger{kind: atLogin} }

func (b *login) claim(_ *occurrence, u *user, l *life) work {
	coldStart := l.coldStart // set before the life starts, never changed
	return func(ctx context.Context) error { return b.run(ctx, u, coldStart) }
}

// missed does nothing: login steps are not arrivals.
func (b *login) missed(*occurrence, string) {}

// run makes the login calls of user u; the first failure ends it, with
// the step's error class. A cold start (the SDK's start with a stored
// session, contract §6.1) leaves out GET /v1/sdk/me: the canonical id is
// the one the first login got.
func (b *login) run(ctx context.Context, u *user, coldStart bool) error {
	for _, step := range b.steps {
		switch step {
		case scenario.LoginMe:
			if coldStart {
				continue
			}
			var me contract.Me
			t0 := time.Now()
			class, err := b.http.call(ctx, u.sess, "GET", contract.PathMe, nil, is2xx, &me)
			if err == nil {
				canonical := contract.Trim(me.User.ExternalUserID) // as the SDK reads it (contract §2.3)
				if canonical == "" || contract.Trim(me.User.ID) == "" {
					class, err = errclass.InvalidResponse, errors.New("GET /v1/sdk/me: user.id or user.external_user_id missing")
				} else {
					u.setCanonical(canonical)
				}
			}
			if !observe(b.me, t0, class, err) {
				return classed(class, err)
			}
		case scenario.LoginSOSRehydrate:
			var body contract.IncidentBody
			t0 := time.Now()
			class, err := b.http.call(ctx, u.sess, "GET", contract.PathSOS, nil, is2xx, &body)
			if !observe(b.sosGet, t0, class, err) {
				return classed(class, err)
			}
		}
	}
	return nil
}
