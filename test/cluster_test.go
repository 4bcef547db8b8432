package test

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rampartiam/rampart/internal/pgtest"
)

// nodesTable runs `rampart nodes` and returns its data rows (without the
// header) and how many of them are marked leader.
func nodesTable(t *testing.T, env []string) (rows []string, leaders int, out string) {
	t.Helper()
	code, out, errOut := runRampart(t, env, "nodes")
	if code != 0 {
		t.Fatalf("rampart nodes = %d:\n%s%s", code, out, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) == 0 || !strings.HasPrefix(lines[0], "NODE") {
		t.Fatalf("rampart nodes printed no table:\n%s", out)
	}
	for _, l := range lines[1:] {
		if strings.HasPrefix(l, "node-") {
			rows = append(rows, l)
			if strings.HasSuffix(strings.TrimSpace(l), "*") {
				leaders++
			}
		}
	}
	return rows, leaders, out
}

// TestTwoNodes runs two `rampart start` processes on one PostgreSQL
// database: both register, exactly one is the job leader (`rampart nodes`
// and the admin API agree), an instance changed through node A stops
// resolving on node B at once although B had cached it, and a node that
// shuts down leaves the registry.
func TestTwoNodes(t *testing.T) {
	t.Parallel()
	b := postgresBackend(t, pgtest.NewDatabase(t))
	fast := []string{"RAMPART_CLUSTER_HEARTBEAT_INTERVAL=200ms", "RAMPART_CLUSTER_NODE_EXPIRY=10s"}
	// Later entries win: node B gets its own data directory.
	envA := slices.Concat(b.env, fast, []string{"RAMPART_NODE_ID=node-a"})
	envB := slices.Concat(b.env, fast, []string{"RAMPART_NODE_ID=node-b", "RAMPART_DATA_DIR=" + t.TempDir()})
	a := startNode(t, envA)
	a.waitReady()
	bNode := startNode(t, envB)
	bNode.waitReady()

	// Both registered, one leader (River's election takes a few seconds).
	deadline := time.Now().Add(90 * time.Second)
	for {
		rows, leaders, out := nodesTable(t, b.env)
		if len(rows) == 2 && leaders == 1 {
			t.Logf("rampart nodes:\n%s", out)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("want two nodes and one leader:\n%s", out)
		}
		time.Sleep(200 * time.Millisecond)
	}

	code, out, errOut := runRampart(t, b.env, "token", "create", "--login-name", "admin")
	token := strings.TrimSpace(out)
	if code != 0 || !strings.HasPrefix(token, "rpat_") {
		t.Fatalf("token create = %d %q %s", code, out, errOut)
	}
	status, body := callAPI(t, bNode.addr, "localhost", "/rampart.admin.v1.ClusterService/ListNodes", token, "{}")
	var listed struct {
		Nodes []struct {
			ID      string `json:"id"`
			Version string `json:"version"`
			Ready   bool   `json:"ready"`
			Leader  bool   `json:"leader"`
		} `json:"nodes"`
		LeaderNodeID string `json:"leaderNodeId"`
	}
	if status != 200 || json.Unmarshal([]byte(body), &listed) != nil || len(listed.Nodes) != 2 {
		t.Fatalf("ListNodes = %d %s", status, body)
	}
	leaders := 0
	for _, n := range listed.Nodes {
		if n.Leader {
			leaders++
			if n.ID != listed.LeaderNodeID {
				t.Fatalf("leader flag on %s, leader_node_id %s", n.ID, listed.LeaderNodeID)
			}
		}
		if n.ID != "node-a" && n.ID != "node-b" || n.Version == "" {
			t.Fatalf("unexpected node %+v", n)
		}
	}
	if leaders != 1 {
		t.Fatalf("ListNodes: %d leaders: %s", leaders, body)
	}

	// Cross-node cache invalidation: B resolves (and caches) c.test, A
	// moves the instance to d.test; B must stop serving c.test long
	// before the cache TTL (minutes) would.
	status, body = callAPI(t, a.addr, "localhost", "/rampart.admin.v1.InstanceService/CreateInstance", token, `{"name":"C","primaryDomain":"c.test"}`)
	var created struct {
		Instance struct {
			ID      string `json:"id"`
			Version string `json:"version"`
		} `json:"instance"`
	}
	if status != 200 || json.Unmarshal([]byte(body), &created) != nil || created.Instance.ID == "" {
		t.Fatalf("CreateInstance = %d %s", status, body)
	}
	const probe = "/rampart.admin.v1.InstanceService/GetMyInstance"
	for range 3 { // resolved (401: no token for C), and cached
		if status, body := callAPI(t, bNode.addr, "c.test", probe, "", "{}"); status != 401 {
			t.Fatalf("B for c.test = %d %s", status, body)
		}
	}
	status, body = callAPI(t, a.addr, "localhost", "/rampart.admin.v1.InstanceService/UpdateInstance", token,
		fmt.Sprintf(`{"instanceId":%q,"version":%s,"name":"C","primaryDomain":"d.test"}`, created.Instance.ID, created.Instance.Version))
	if status != 200 {
		t.Fatalf("UpdateInstance = %d %s", status, body)
	}
	changed := time.Now()
	for {
		status, body := callAPI(t, bNode.addr, "c.test", probe, "", "{}")
		if status == 404 {
			t.Logf("node B stopped serving the moved domain %s after A's update returned", time.Since(changed))
			break
		}
		if time.Since(changed) > 20*time.Second {
			t.Fatalf("B still serves c.test %s after the change: %d %s", time.Since(changed), status, body)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if status, body := callAPI(t, bNode.addr, "d.test", probe, "", "{}"); status != 401 {
		t.Fatalf("B for d.test = %d %s", status, body)
	}

	// A graceful shutdown leaves the registry at once.
	bNode.signal(syscall.SIGTERM)
	if code := bNode.exitCode(60 * time.Second); code != 0 {
		t.Fatalf("node B exit code %d", code)
	}
	rows, _, out := nodesTable(t, b.env)
	if len(rows) != 1 || !strings.HasPrefix(rows[0], "node-a") {
		t.Fatalf("after node B stopped:\n%s", out)
	}
}
