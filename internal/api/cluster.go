package api

import (
	"context"

	"connectrpc.com/connect"

	"github.com/rampartiam/rampart/internal/api/apiutil"
	"github.com/rampartiam/rampart/internal/cluster"
	adminv1 "github.com/rampartiam/rampart/internal/gen/rampart/admin/v1"
	"github.com/rampartiam/rampart/internal/gen/rampart/admin/v1/adminv1connect"
	"github.com/rampartiam/rampart/internal/store"
)

// NodeLister lists the live nodes and the job leader's node ID;
// *cluster.Registry implements it.
type NodeLister interface {
	Nodes(ctx context.Context) ([]cluster.NodeStatus, string, error)
}

// clusterServer implements ClusterService on the node registry.
type clusterServer struct {
	nodes NodeLister
}

var _ adminv1connect.ClusterServiceHandler = (*clusterServer)(nil)

// NewClusterServer returns the ClusterService handler.
func NewClusterServer(nodes NodeLister) adminv1connect.ClusterServiceHandler {
	return &clusterServer{nodes: nodes}
}

// ListNodes returns the live nodes and the job leader.
func (s *clusterServer) ListNodes(ctx context.Context, _ *connect.Request[adminv1.ListNodesRequest]) (*connect.Response[adminv1.ListNodesResponse], error) {
	nodes, leader, err := s.nodes.Nodes(ctx)
	if err != nil {
		return nil, store.DomainError(err, "nodes")
	}
	out := &adminv1.ListNodesResponse{LeaderNodeId: leader}
	for _, n := range nodes {
		out.Nodes = append(out.Nodes, &adminv1.Node{
			Id: n.ID, Address: n.Address, Hostname: n.Hostname, Pid: n.PID, Version: n.Version,
			SchemaVersion: n.SchemaVersion, StartedAt: apiutil.Timestamp(n.StartedAt), LastSeenAt: apiutil.Timestamp(n.LastSeen),
			Ready: n.Ready, Leader: n.Leader,
		})
	}
	return connect.NewResponse(out), nil
}
