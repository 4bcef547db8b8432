package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/store"
)

// userColumns selects a user; userCols qualifies them with a table alias.
const userColumns = `instance_id, id, org_id, type, login_name, state, email, email_verified, given_name, family_name,
	preferred_language, password_hash, password_change_required, machine_name, machine_description, secret_hash,
	created_at, changed_at, version`

// userColumnNames lists userColumns followed by the normalized lookup
// columns, for inserts.
var userColumnNames = append(strings.Split(strings.Join(strings.Fields(userColumns), ""), ","), "login_name_norm", "email_norm")

func userCols(alias string) string {
	cols := strings.Split(userColumns, ",")
	for i, c := range cols {
		cols[i] = alias + "." + strings.TrimSpace(c)
	}
	return strings.Join(cols, ", ")
}

func userScanTargets() ([]any, func() *iam.User) {
	var u iam.User
	var h iam.HumanProfile
	var m iam.MachineProfile
	dst := []any{&u.InstanceID, &u.ID, &u.OrgID, &u.Type, &u.LoginName, &u.State, &h.Email, &h.EmailVerified,
		&h.GivenName, &h.FamilyName, &h.PreferredLanguage, &u.PasswordHash, &h.PasswordChangeRequired,
		&m.Name, &m.Description, &u.SecretHash, &u.CreatedAt, &u.ChangedAt, &u.Version}
	return dst, func() *iam.User {
		u.CreatedAt, u.ChangedAt = u.CreatedAt.UTC(), u.ChangedAt.UTC()
		if u.Type == iam.UserMachine {
			u.Machine = &m
		} else {
			u.Human = &h
		}
		return &u
	}
}

func scanUser(row pgx.Row) (*iam.User, error) {
	dst, done := userScanTargets()
	if err := row.Scan(dst...); err != nil {
		return nil, mapErr(err)
	}
	return done(), nil
}

// userValues returns the insert values of u in userColumnNames order.
func userValues(u *iam.User, now time.Time) []any {
	var h iam.HumanProfile
	var m iam.MachineProfile
	if u.Human != nil {
		h = *u.Human
	}
	if u.Machine != nil {
		m = *u.Machine
	}
	return []any{u.InstanceID, u.ID, u.OrgID, string(u.Type), u.LoginName, string(u.State), h.Email, h.EmailVerified,
		h.GivenName, h.FamilyName, h.PreferredLanguage, u.PasswordHash, h.PasswordChangeRequired,
		m.Name, m.Description, u.SecretHash, now, now, int64(1),
		strings.ToLower(u.LoginName), strings.ToLower(h.Email)}
}

func placeholders(n int) string {
	var b strings.Builder
	for i := 1; i <= n; i++ {
		if i > 1 {
			b.WriteString(", ")
		}
		b.WriteString("$" + strconv.Itoa(i))
	}
	return b.String()
}

// UserCreate implements store.Queries.
func (q *queries) UserCreate(ctx context.Context, p *store.UserCreateParams) (*iam.User, error) {
	u, err := scanUser(q.db.QueryRow(ctx,
		`INSERT INTO users (`+strings.Join(userColumnNames, ", ")+`) VALUES (`+placeholders(len(userColumnNames))+`) RETURNING `+userColumns,
		userValues(p.User, p.Now)...))
	if err != nil {
		return nil, fmt.Errorf("postgres: insert user: %w", err)
	}
	return u, nil
}

// UserCreateMany implements store.Queries with COPY, in one transaction.
func (q *queries) UserCreateMany(ctx context.Context, p *store.UserCreateManyParams) error {
	if len(p.Users) == 0 {
		return nil
	}
	_, err := write(ctx, q, func(q *queries) (struct{}, error) {
		cp, ok := q.db.(interface {
			CopyFrom(context.Context, pgx.Identifier, []string, pgx.CopyFromSource) (int64, error)
		})
		if !ok {
			return struct{}{}, errors.New("postgres: bulk insert outside a transaction")
		}
		_, err := cp.CopyFrom(ctx, pgx.Identifier{"users"}, userColumnNames,
			pgx.CopyFromSlice(len(p.Users), func(i int) ([]any, error) { return userValues(p.Users[i], p.Now), nil }))
		if err != nil {
			return struct{}{}, fmt.Errorf("postgres: bulk insert users: %w", mapErr(err))
		}
		return struct{}{}, nil
	})
	return err
}

// UserGetByID implements store.Queries.
func (q *queries) UserGetByID(ctx context.Context, p *store.UserGetByIDParams) (*iam.User, error) {
	query := `SELECT ` + userColumns + ` FROM users WHERE instance_id = $1 AND id = $2`
	args := []any{p.InstanceID, p.ID}
	if p.OrgID != "" {
		query += ` AND org_id = $3`
		args = append(args, p.OrgID)
	}
	return scanUser(q.db.QueryRow(ctx, query, args...))
}

// UserGetByLoginName implements store.Queries.
func (q *queries) UserGetByLoginName(ctx context.Context, p *store.UserGetByLoginNameParams) (*iam.User, error) {
	return scanUser(q.db.QueryRow(ctx,
		`SELECT `+userColumns+` FROM users WHERE instance_id = $1 AND login_name_norm = $2`,
		p.InstanceID, strings.ToLower(p.LoginName)))
}

// UserList implements store.Queries.
func (q *queries) UserList(ctx context.Context, p *store.UserListParams) ([]*iam.User, error) {
	var where []string
	var args []any
	add := func(cond string, vs ...any) {
		for _, v := range vs {
			args = append(args, v)
			cond = strings.Replace(cond, "?", "$"+strconv.Itoa(len(args)), 1)
		}
		where = append(where, cond)
	}
	add("instance_id = ?", p.InstanceID)
	if p.OrgID != "" {
		add("org_id = ?", p.OrgID)
	}
	order := "id"
	if p.LoginNamePrefix != "" {
		prefix := strings.ToLower(p.LoginNamePrefix)
		add("login_name_norm >= ? AND login_name_norm < ?", prefix, store.PrefixUpper(prefix))
		order = "login_name_norm"
	}
	if p.EmailPrefix != "" {
		prefix := strings.ToLower(p.EmailPrefix)
		add("email_norm >= ? AND email_norm < ?", prefix, store.PrefixUpper(prefix))
		if order == "id" {
			order = "email_norm"
		}
	}
	if order == "id" {
		if p.AfterID != "" {
			add("id > ?", p.AfterID)
		}
	} else {
		if p.AfterKey != "" || p.AfterID != "" {
			add("("+order+", id) > (?, ?)", p.AfterKey, p.AfterID)
		}
		order += ", id"
	}
	if p.Type != "" {
		add("type = ?", string(p.Type))
	}
	if p.State != "" {
		add("state = ?", string(p.State))
	}
	args = append(args, store.ClampLimit(p.Limit))
	rows, err := q.db.Query(ctx, `SELECT `+userColumns+` FROM users WHERE `+strings.Join(where, " AND ")+
		` ORDER BY `+order+` LIMIT $`+strconv.Itoa(len(args)), args...)
	if err != nil {
		return nil, fmt.Errorf("postgres: list users: %w", mapErr(err))
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*iam.User, error) { return scanUser(r) })
	if err != nil {
		return nil, fmt.Errorf("postgres: list users: %w", mapErr(err))
	}
	return out, nil
}

// updateUser runs a versioned UPDATE of one user (version 0: any) and
// returns the updated row, ErrNotFound or ErrConflict. set uses ? for the
// values in args.
func (q *queries) updateUser(ctx context.Context, what, set string, instanceID, id string, version int64, args ...any) (*iam.User, error) {
	all := append([]any{}, args...)
	for i := range args {
		set = strings.Replace(set, "?", "$"+strconv.Itoa(i+1), 1)
	}
	all = append(all, instanceID, id)
	query := `UPDATE users SET ` + set + `, version = version + 1 WHERE instance_id = $` + strconv.Itoa(len(all)-1) +
		` AND id = $` + strconv.Itoa(len(all))
	if version != 0 {
		all = append(all, version)
		query += ` AND version = $` + strconv.Itoa(len(all))
	}
	u, err := scanUser(q.db.QueryRow(ctx, query+` RETURNING `+userColumns, all...))
	if errors.Is(err, store.ErrNotFound) {
		return nil, q.missingOrConflict(ctx, `SELECT 1 FROM users WHERE instance_id = $1 AND id = $2`, instanceID, id)
	}
	if err != nil {
		return nil, fmt.Errorf("postgres: %s: %w", what, err)
	}
	return u, nil
}

// UserUpdate implements store.Queries.
func (q *queries) UserUpdate(ctx context.Context, p *store.UserUpdateParams) (*iam.User, error) {
	u := p.User
	if u.Version == 0 {
		return nil, store.ErrConflict
	}
	if u.Type == iam.UserMachine {
		m := u.Machine
		return q.updateUser(ctx, "update user",
			`login_name = ?, login_name_norm = ?, state = ?, machine_name = ?, machine_description = ?, changed_at = ?`,
			u.InstanceID, u.ID, u.Version,
			u.LoginName, strings.ToLower(u.LoginName), string(u.State), m.Name, m.Description, p.Now)
	}
	h := u.Human
	return q.updateUser(ctx, "update user",
		`login_name = ?, login_name_norm = ?, state = ?, email = ?, email_norm = ?, email_verified = ?,
		given_name = ?, family_name = ?, preferred_language = ?, changed_at = ?`,
		u.InstanceID, u.ID, u.Version,
		u.LoginName, strings.ToLower(u.LoginName), string(u.State), h.Email, strings.ToLower(h.Email), h.EmailVerified,
		h.GivenName, h.FamilyName, h.PreferredLanguage, p.Now)
}

// UserSetPassword implements store.Queries.
func (q *queries) UserSetPassword(ctx context.Context, p *store.UserSetPasswordParams) (*iam.User, error) {
	return q.updateUser(ctx, "set user password", `password_hash = ?, password_change_required = ?, changed_at = ?`,
		p.InstanceID, p.ID, p.Version, p.Hash, p.ChangeRequired, p.Now)
}

// UserSetSecretHash implements store.Queries.
func (q *queries) UserSetSecretHash(ctx context.Context, p *store.UserSetSecretHashParams) (*iam.User, error) {
	return q.updateUser(ctx, "set user secret", `secret_hash = ?, changed_at = ?`,
		p.InstanceID, p.ID, p.Version, p.Hash, p.Now)
}

// UserDelete implements store.Queries.
func (q *queries) UserDelete(ctx context.Context, p *store.UserDeleteParams) error {
	tag, err := q.db.Exec(ctx, `DELETE FROM users WHERE instance_id = $1 AND id = $2 AND version = $3`,
		p.InstanceID, p.ID, p.Version)
	if err != nil {
		return fmt.Errorf("postgres: delete user: %w", mapErr(err))
	}
	if tag.RowsAffected() == 0 {
		return q.missingOrConflict(ctx, `SELECT 1 FROM users WHERE instance_id = $1 AND id = $2`, p.InstanceID, p.ID)
	}
	return nil
}

const patColumns = `instance_id, id, user_id, token_hash, expires_at, created_at`

func patScanTargets() ([]any, func() *iam.PersonalAccessToken) {
	var t iam.PersonalAccessToken
	return []any{&t.InstanceID, &t.ID, &t.UserID, &t.TokenHash, &t.ExpiresAt, &t.CreatedAt}, func() *iam.PersonalAccessToken {
		t.ExpiresAt, t.CreatedAt = t.ExpiresAt.UTC(), t.CreatedAt.UTC()
		return &t
	}
}

func scanPAT(row pgx.Row) (*iam.PersonalAccessToken, error) {
	dst, done := patScanTargets()
	if err := row.Scan(dst...); err != nil {
		return nil, mapErr(err)
	}
	return done(), nil
}

// PersonalAccessTokenCreate implements store.Queries.
func (q *queries) PersonalAccessTokenCreate(ctx context.Context, p *store.PersonalAccessTokenCreateParams) (*iam.PersonalAccessToken, error) {
	t := p.Token
	out, err := scanPAT(q.db.QueryRow(ctx,
		`INSERT INTO personal_access_tokens (`+patColumns+`) VALUES ($1, $2, $3, $4, $5, $6) RETURNING `+patColumns,
		t.InstanceID, t.ID, t.UserID, t.TokenHash, t.ExpiresAt, p.Now))
	if err != nil {
		return nil, fmt.Errorf("postgres: insert personal access token: %w", err)
	}
	return out, nil
}

// PersonalAccessTokenGetByHash implements store.Queries: one query joining
// the token's user.
func (q *queries) PersonalAccessTokenGetByHash(ctx context.Context, p *store.PersonalAccessTokenGetByHashParams) (*iam.PersonalAccessToken, *iam.User, error) {
	tdst, tdone := patScanTargets()
	udst, udone := userScanTargets()
	err := q.db.QueryRow(ctx, `SELECT t.instance_id, t.id, t.user_id, t.token_hash, t.expires_at, t.created_at, `+userCols("u")+`
		FROM personal_access_tokens t JOIN users u ON u.instance_id = t.instance_id AND u.id = t.user_id
		WHERE t.instance_id = $1 AND t.token_hash = $2`, p.InstanceID, p.Hash).Scan(append(tdst, udst...)...)
	if err != nil {
		return nil, nil, mapErr(err)
	}
	return tdone(), udone(), nil
}

// PersonalAccessTokenList implements store.Queries.
func (q *queries) PersonalAccessTokenList(ctx context.Context, p *store.PersonalAccessTokenListParams) ([]*iam.PersonalAccessToken, error) {
	rows, err := q.db.Query(ctx, `SELECT `+patColumns+` FROM personal_access_tokens
		WHERE instance_id = $1 AND user_id = $2 AND id > $3 ORDER BY id LIMIT $4`,
		p.InstanceID, p.UserID, p.AfterID, store.ClampLimit(p.Limit))
	if err != nil {
		return nil, fmt.Errorf("postgres: list personal access tokens: %w", mapErr(err))
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*iam.PersonalAccessToken, error) { return scanPAT(r) })
	if err != nil {
		return nil, fmt.Errorf("postgres: list personal access tokens: %w", mapErr(err))
	}
	return out, nil
}

// PersonalAccessTokenDelete implements store.Queries.
func (q *queries) PersonalAccessTokenDelete(ctx context.Context, p *store.PersonalAccessTokenDeleteParams) error {
	return q.deleteOwned(ctx, "personal_access_tokens", p.InstanceID, p.UserID, p.ID)
}

func (q *queries) deleteOwned(ctx context.Context, table, instanceID, userID, id string) error {
	tag, err := q.db.Exec(ctx, `DELETE FROM `+table+` WHERE instance_id = $1 AND user_id = $2 AND id = $3`,
		instanceID, userID, id)
	if err != nil {
		return fmt.Errorf("postgres: delete from %s: %w", table, mapErr(err))
	}
	if tag.RowsAffected() == 0 {
		return store.ErrNotFound
	}
	return nil
}

const machineKeyColumns = `instance_id, id, user_id, public_key, expires_at, created_at`

func scanMachineKey(row pgx.Row) (*iam.MachineKey, error) {
	var k iam.MachineKey
	if err := row.Scan(&k.InstanceID, &k.ID, &k.UserID, &k.PublicKeyPEM, &k.ExpiresAt, &k.CreatedAt); err != nil {
		return nil, mapErr(err)
	}
	k.ExpiresAt, k.CreatedAt = k.ExpiresAt.UTC(), k.CreatedAt.UTC()
	return &k, nil
}

// MachineKeyCreate implements store.Queries.
func (q *queries) MachineKeyCreate(ctx context.Context, p *store.MachineKeyCreateParams) (*iam.MachineKey, error) {
	k := p.Key
	out, err := scanMachineKey(q.db.QueryRow(ctx,
		`INSERT INTO machine_keys (`+machineKeyColumns+`) VALUES ($1, $2, $3, $4, $5, $6) RETURNING `+machineKeyColumns,
		k.InstanceID, k.ID, k.UserID, k.PublicKeyPEM, k.ExpiresAt, p.Now))
	if err != nil {
		return nil, fmt.Errorf("postgres: insert machine key: %w", err)
	}
	return out, nil
}

// MachineKeyGetByID implements store.Queries.
func (q *queries) MachineKeyGetByID(ctx context.Context, p *store.MachineKeyGetByIDParams) (*iam.MachineKey, error) {
	query := `SELECT ` + machineKeyColumns + ` FROM machine_keys WHERE instance_id = $1 AND id = $2`
	args := []any{p.InstanceID, p.ID}
	if p.UserID != "" {
		query += ` AND user_id = $3`
		args = append(args, p.UserID)
	}
	return scanMachineKey(q.db.QueryRow(ctx, query, args...))
}

// MachineKeyList implements store.Queries.
func (q *queries) MachineKeyList(ctx context.Context, p *store.MachineKeyListParams) ([]*iam.MachineKey, error) {
	rows, err := q.db.Query(ctx, `SELECT `+machineKeyColumns+` FROM machine_keys
		WHERE instance_id = $1 AND user_id = $2 AND id > $3 ORDER BY id LIMIT $4`,
		p.InstanceID, p.UserID, p.AfterID, store.ClampLimit(p.Limit))
	if err != nil {
		return nil, fmt.Errorf("postgres: list machine keys: %w", mapErr(err))
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*iam.MachineKey, error) { return scanMachineKey(r) })
	if err != nil {
		return nil, fmt.Errorf("postgres: list machine keys: %w", mapErr(err))
	}
	return out, nil
}

// MachineKeyDelete implements store.Queries.
func (q *queries) MachineKeyDelete(ctx context.Context, p *store.MachineKeyDeleteParams) error {
	return q.deleteOwned(ctx, "machine_keys", p.InstanceID, p.UserID, p.ID)
}
