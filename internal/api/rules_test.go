package api_test

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/rampartiam/rampart/internal/access"
	"github.com/rampartiam/rampart/internal/api"
	adminv1 "github.com/rampartiam/rampart/internal/gen/rampart/admin/v1"
)

// adminMethods returns every method of every service of the admin API's
// generated file descriptors (everything registered in package
// rampart.admin.v1), keyed by procedure name.
func adminMethods(t *testing.T) map[string]protoreflect.MethodDescriptor {
	t.Helper()
	_ = adminv1.File_rampart_admin_v1_instance_proto // registers the package's files
	out := map[string]protoreflect.MethodDescriptor{}
	files := 0
	protoregistry.GlobalFiles.RangeFilesByPackage("rampart.admin.v1", func(fd protoreflect.FileDescriptor) bool {
		files++
		for i := range fd.Services().Len() {
			svc := fd.Services().Get(i)
			for j := range svc.Methods().Len() {
				m := svc.Methods().Get(j)
				out["/"+string(svc.FullName())+"/"+string(m.Name())] = m
			}
		}
		return true
	})
	if files < 9 || len(out) < 58 {
		t.Fatalf("found %d files with %d methods; the admin API has more", files, len(out))
	}
	return out
}

// systemService reports whether proc belongs to a service that manages the
// deployment rather than one instance (system permissions belong there).
func systemService(proc string) bool {
	return strings.Contains(proc, ".InstanceService/") || strings.Contains(proc, ".ClusterService/")
}

func stringFieldOK(md protoreflect.MessageDescriptor, name protoreflect.Name) bool {
	fd := md.Fields().ByName(name)
	return fd != nil && fd.Kind() == protoreflect.StringKind && !fd.IsList()
}

// TestEveryMethodHasARule fails when a method of the admin API lacks an
// authorization rule, a rule names a method that does not exist, or a rule
// reads a target field the request does not have.
func TestEveryMethodHasARule(t *testing.T) {
	t.Parallel()
	methods := adminMethods(t)
	known := map[access.Permission]bool{}
	for _, p := range access.AllPermissions {
		known[p] = true
	}
	for proc, m := range methods {
		rule, ok := api.Rules[proc]
		if !ok {
			t.Errorf("%s has no entry in api.Rules: add one (permission and target)", proc)
			continue
		}
		if !known[rule.Permission] {
			t.Errorf("%s: unknown permission %q", proc, rule.Permission)
		}
		in := m.Input()
		switch rule.Target {
		case api.Instance:
		case api.Org:
			if !stringFieldOK(in, "org_id") {
				t.Errorf("%s: rule reads org_id, %s has none", proc, in.FullName())
			}
		case api.OrgProject:
			if !stringFieldOK(in, "org_id") || !stringFieldOK(in, "project_id") {
				t.Errorf("%s: rule reads org_id and project_id, %s lacks one", proc, in.FullName())
			}
		case api.MemberTarget:
			fd := in.Fields().ByName("target")
			if fd == nil || fd.Message() == nil || fd.Message().FullName() != "rampart.admin.v1.MemberTarget" {
				t.Errorf("%s: rule reads a MemberTarget target, %s has none", proc, in.FullName())
			}
		default:
			t.Errorf("%s: unknown target kind %d", proc, rule.Target)
		}
		// A request that names an organization must not be authorized as
		// instance-wide only by accident, and vice versa: instance rules
		// are for requests without org_id.
		if rule.Target == api.Instance && stringFieldOK(in, "org_id") {
			t.Errorf("%s names org_id but its rule ignores it", proc)
		}
		if strings.HasPrefix(string(rule.Permission), "system.") && !systemService(proc) {
			t.Errorf("%s needs a system permission outside InstanceService and ClusterService", proc)
		}
	}
	for proc := range api.Rules {
		if _, ok := methods[proc]; !ok {
			t.Errorf("api.Rules has %s, which is no method of the admin API", proc)
		}
	}
}
