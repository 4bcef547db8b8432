package instance_test

import (
	"testing"

	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/instance"
	"github.com/rampartiam/rampart/internal/store"
	"github.com/rampartiam/rampart/internal/testenv"
)

func TestUpdateKeepsStateAndProtectsTheSystemInstance(t *testing.T) {
	t.Parallel()
	testenv.EachBackend(t, func(t *testing.T, s store.Store) {
		ctx := t.Context()
		svc := instance.New(s, nil)
		in, err := svc.Create(ctx, iam.SystemActor, &iam.Instance{Name: "A", PrimaryDomain: "a.example", State: iam.InstanceInactive})
		if err != nil {
			t.Fatal(err)
		}
		// An empty state keeps the current one.
		change := *in
		change.Name, change.State = "A2", ""
		got, err := svc.Update(ctx, "admin", &change)
		if err != nil || got.State != iam.InstanceInactive || got.Name != "A2" {
			t.Fatalf("update without state = %+v, %v", got, err)
		}

		sys, err := svc.Create(ctx, iam.SystemActor, &iam.Instance{Name: "System", PrimaryDomain: "sys.example", System: true})
		if err != nil {
			t.Fatal(err)
		}
		off := *sys
		off.State = iam.InstanceInactive
		if _, err := svc.Update(ctx, "admin", &off); !iam.IsCode(err, iam.FailedPrecondition) {
			t.Fatalf("deactivating the system instance = %v, want failed_precondition", err)
		}
		renamed := *sys
		renamed.Name, renamed.State = "Root", ""
		if got, err := svc.Update(ctx, "admin", &renamed); err != nil || got.Name != "Root" || !got.System || got.State != iam.InstanceActive {
			t.Fatalf("renaming the system instance = %+v, %v", got, err)
		}
	})
}
