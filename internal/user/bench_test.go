package user_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/store"
	"github.com/rampartiam/rampart/internal/testenv"
	"github.com/rampartiam/rampart/internal/user"
)

// BenchmarkUserCreateMany inserts 100,000 users in one UserCreateMany call
// per iteration, then times the hot reads on the result: a login-name
// prefix page and a personal access token lookup.
func BenchmarkUserCreateMany(b *testing.B) {
	const n = 100_000
	for _, backend := range testenv.Backends {
		b.Run(backend, func(b *testing.B) {
			s := testenv.NewStore(b, backend)
			ctx := b.Context()
			var last *iam.Instance
			for i := 0; b.Loop(); i++ {
				b.StopTimer()
				in, err := s.InstanceCreate(ctx, &store.InstanceCreateParams{
					Instance: &iam.Instance{ID: iam.NewID(), Name: "B", PrimaryDomain: fmt.Sprintf("b%d-%s.example", i, iam.NewID()[24:]), State: iam.InstanceActive}, Now: time.Now(),
				})
				if err != nil {
					b.Fatal(err)
				}
				o, err := s.OrgCreate(ctx, &store.OrgCreateParams{Org: &iam.Organization{ID: iam.NewID(), InstanceID: in.ID, Name: "O", State: iam.StateActive}, Now: time.Now()})
				if err != nil {
					b.Fatal(err)
				}
				users := make([]*iam.User, n)
				for j := range users {
					users[j] = &iam.User{ID: iam.NewID(), InstanceID: in.ID, OrgID: o.ID, Type: iam.UserHuman, State: iam.UserActive,
						LoginName: fmt.Sprintf("user%06d", j), Human: &iam.HumanProfile{Email: fmt.Sprintf("user%06d@example.com", j)}}
				}
				b.StartTimer()
				if err := s.UserCreateMany(ctx, &store.UserCreateManyParams{Users: users, Now: time.Now()}); err != nil {
					b.Fatal(err)
				}
				last = in
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/n, "µs/user")

			b.StopTimer()
			start := time.Now()
			const pages = 200
			for i := range pages {
				l, err := s.UserList(ctx, &store.UserListParams{InstanceID: last.ID, LoginNamePrefix: fmt.Sprintf("USER%04d", i*5), Limit: 100})
				if err != nil || len(l) != 100 {
					b.Fatalf("prefix page: %d users, %v", len(l), err)
				}
			}
			b.ReportMetric(float64(time.Since(start).Microseconds())/pages, "µs/prefix-page")

			svc := user.New(s, user.Options{Secrets: newSecrets(b), Passwords: fastPasswords})
			u, err := s.UserGetByLoginName(ctx, &store.UserGetByLoginNameParams{InstanceID: last.ID, LoginName: "user050000"})
			if err != nil {
				b.Fatal(err)
			}
			_, token, err := svc.AddPAT(ctx, "bench", user.Ref{InstanceID: last.ID, ID: u.ID}, &user.NewPAT{ExpiresAt: time.Now().Add(time.Hour)})
			if err != nil {
				b.Fatal(err)
			}
			start = time.Now()
			const auths = 1000
			for range auths {
				if _, err := svc.AuthenticatePAT(ctx, last.ID, token); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(time.Since(start).Microseconds())/auths, "µs/pat-auth")
		})
	}
}
