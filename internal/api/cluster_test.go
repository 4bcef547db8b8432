package api_test

import (
	"testing"
	"time"

	"connectrpc.com/connect"

	adminv1 "github.com/rampartiam/rampart/internal/gen/rampart/admin/v1"
	"github.com/rampartiam/rampart/internal/gen/rampart/admin/v1/adminv1connect"
	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/store"
	"github.com/rampartiam/rampart/internal/testenv"
)

func TestClusterService(t *testing.T) {
	t.Parallel()
	testenv.EachBackend(t, func(t *testing.T, s store.Store) {
		ctx := t.Context()
		h := newHarness(t, s)
		sys := h.newWorld(t, "System", "sys.test", true)
		a := h.newWorld(t, "A", "a.test", false)
		now := time.Now().UTC().Truncate(time.Microsecond)
		for i, n := range []*store.Node{
			{ID: "node-1", Address: "10.0.0.1:8080", Hostname: "h1", PID: 10, Version: "v1.0.0", SchemaVersion: 3, StartedAt: now.Add(-time.Hour), LastSeen: now, Ready: true},
			{ID: "node-2", Address: "10.0.0.2:8080", Hostname: "h2", PID: 20, Version: "v1.1.0", SchemaVersion: 3, StartedAt: now.Add(-time.Minute), LastSeen: now, Ready: false},
			{ID: "gone", StartedAt: now.Add(-2 * time.Hour), LastSeen: now.Add(-time.Hour)},
		} {
			if err := s.NodeHeartbeat(ctx, &store.NodeHeartbeatParams{Node: n}); err != nil {
				t.Fatal(i, err)
			}
		}

		c := adminv1connect.NewClusterServiceClient(h.client, h.url(sys.host), bearer(sys.owner()))
		res, err := c.ListNodes(ctx, connect.NewRequest(&adminv1.ListNodesRequest{}))
		if err != nil {
			t.Fatal(err)
		}
		nodes := res.Msg.Nodes
		if len(nodes) != 2 || res.Msg.LeaderNodeId != "" {
			t.Fatalf("ListNodes = %v", res.Msg)
		}
		n := nodes[0]
		if n.Id != "node-1" || n.Address != "10.0.0.1:8080" || n.Hostname != "h1" || n.Pid != 10 || n.Version != "v1.0.0" ||
			n.SchemaVersion != 3 || !n.StartedAt.AsTime().Equal(now.Add(-time.Hour)) || !n.LastSeenAt.AsTime().Equal(now) || !n.Ready || n.Leader {
			t.Fatalf("node 1 = %v", n)
		}
		if nodes[1].Id != "node-2" || nodes[1].Ready {
			t.Fatalf("node 2 = %v", nodes[1])
		}

		// Like listing instances: not for the system instance's viewers, nor
		// for other instances' owners.
		viewer := adminv1connect.NewClusterServiceClient(h.client, h.url(sys.host), bearer(sys.tokens[iam.RoleInstanceViewer]))
		_, err = viewer.ListNodes(ctx, connect.NewRequest(&adminv1.ListNodesRequest{}))
		wantCode(t, "system instance viewer", err, connect.CodePermissionDenied)
		other := adminv1connect.NewClusterServiceClient(h.client, h.url(a.host), bearer(a.owner()))
		_, err = other.ListNodes(ctx, connect.NewRequest(&adminv1.ListNodesRequest{}))
		wantCode(t, "owner of another instance", err, connect.CodePermissionDenied)
	})
}
