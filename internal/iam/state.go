package iam

// State is the lifecycle state of organizations, projects, applications and
// grants.
type State string

// States.
const (
	StateActive   State = "active"
	StateInactive State = "inactive"
)

// Valid reports whether s is a known state.
func (s State) Valid() bool { return s == StateActive || s == StateInactive }
