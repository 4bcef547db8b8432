package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/rampartiam/rampart/internal/iam"
	"github.com/rampartiam/rampart/internal/store"
)

// userColumns selects a user; prefix them with a table alias through
// userCols.
const userColumns = `instance_id, id, org_id, type, login_name, state, email, email_verified, given_name, family_name,
	preferred_language, password_hash, password_change_required, machine_name, machine_description, secret_hash,
	created_at, changed_at, version`

// userCols returns userColumns qualified with alias.
func userCols(alias string) string {
	cols := strings.Split(userColumns, ",")
	for i, c := range cols {
		cols[i] = alias + "." + strings.TrimSpace(c)
	}
	return strings.Join(cols, ", ")
}

// userScanTargets returns the scan destinations of userColumns and a function
// that completes the user after the scan.
func userScanTargets() ([]any, func() *iam.User) {
	var u iam.User
	var h iam.HumanProfile
	var m iam.MachineProfile
	var created, changed int64
	dst := []any{&u.InstanceID, &u.ID, &u.OrgID, &u.Type, &u.LoginName, &u.State, &h.Email, &h.EmailVerified,
		&h.GivenName, &h.FamilyName, &h.PreferredLanguage, &u.PasswordHash, &h.PasswordChangeRequired,
		&m.Name, &m.Description, &u.SecretHash, &created, &changed, &u.Version}
	return dst, func() *iam.User {
		u.CreatedAt, u.ChangedAt = fromMicros(created), fromMicros(changed)
		if u.Type == iam.UserMachine {
			u.Machine = &m
		} else {
			u.Human = &h
		}
		return &u
	}
}

func scanUser(row interface{ Scan(...any) error }) (*iam.User, error) {
	dst, done := userScanTargets()
	if err := row.Scan(dst...); err != nil {
		return nil, mapErr(err)
	}
	return done(), nil
}

// userValues returns the insert values of u in userColumns order (with
// login_name_norm and email_norm appended), timestamps at now.
func userValues(u *iam.User, now int64) []any {
	var h iam.HumanProfile
	var m iam.MachineProfile
	if u.Human != nil {
		h = *u.Human
	}
	if u.Machine != nil {
		m = *u.Machine
	}
	var secret any
	if u.SecretHash != nil {
		secret = u.SecretHash
	}
	return []any{u.InstanceID, u.ID, u.OrgID, string(u.Type), u.LoginName, string(u.State), h.Email, h.EmailVerified,
		h.GivenName, h.FamilyName, h.PreferredLanguage, u.PasswordHash, h.PasswordChangeRequired,
		m.Name, m.Description, secret, now, now, int64(1),
		strings.ToLower(u.LoginName), strings.ToLower(h.Email)}
}

const userInsertColumns = userColumns + `, login_name_norm, email_norm`

const userInsertRow = `(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

// UserCreate implements store.Queries.
func (q *queries) UserCreate(ctx context.Context, p *store.UserCreateParams) (*iam.User, error) {
	return write(ctx, q, func(q *queries) (*iam.User, error) {
		u, err := scanUser(q.db.QueryRowContext(ctx,
			`INSERT INTO users (`+userInsertColumns+`) VALUES `+userInsertRow+` RETURNING `+userColumns,
			userValues(p.User, micros(p.Now))...))
		if err != nil {
			return nil, fmt.Errorf("sqlite: insert user: %w", err)
		}
		return u, nil
	})
}

// userBatch is the number of rows per INSERT statement of UserCreateMany:
// 21 parameters each, well below SQLite's limit of 32766.
const userBatch = 500

// UserCreateMany implements store.Queries: prepared multi-row INSERT
// statements in one transaction.
func (q *queries) UserCreateMany(ctx context.Context, p *store.UserCreateManyParams) error {
	if len(p.Users) == 0 {
		return nil
	}
	_, err := write(ctx, q, func(q *queries) (struct{}, error) {
		tx := q.tx
		if tx == nil {
			return struct{}{}, errors.New("sqlite: bulk insert outside a transaction")
		}
		now := micros(p.Now)
		var stmt *sql.Stmt
		stmtRows := 0
		defer func() {
			if stmt != nil {
				stmt.Close()
			}
		}()
		args := make([]any, 0, userBatch*21)
		for start := 0; start < len(p.Users); start += userBatch {
			batch := p.Users[start:min(start+userBatch, len(p.Users))]
			if len(batch) != stmtRows {
				if stmt != nil {
					stmt.Close()
				}
				rows := strings.TrimSuffix(strings.Repeat(userInsertRow+",", len(batch)), ",")
				var err error
				stmt, err = tx.PrepareContext(ctx, `INSERT INTO users (`+userInsertColumns+`) VALUES `+rows)
				if err != nil {
					return struct{}{}, fmt.Errorf("sqlite: prepare bulk insert users: %w", mapErr(err))
				}
				stmtRows = len(batch)
			}
			args = args[:0]
			for _, u := range batch {
				args = append(args, userValues(u, now)...)
			}
			store.CountRoundTrip(ctx)
			if _, err := stmt.ExecContext(ctx, args...); err != nil {
				return struct{}{}, fmt.Errorf("sqlite: bulk insert users: %w", mapErr(err))
			}
		}
		return struct{}{}, nil
	})
	return err
}

// UserGetByID implements store.Queries.
func (q *queries) UserGetByID(ctx context.Context, p *store.UserGetByIDParams) (*iam.User, error) {
	query := `SELECT ` + userColumns + ` FROM users WHERE instance_id = ? AND id = ?`
	args := []any{p.InstanceID, p.ID}
	if p.OrgID != "" {
		query += ` AND org_id = ?`
		args = append(args, p.OrgID)
	}
	return scanUser(q.db.QueryRowContext(ctx, query, args...))
}

// UserGetByLoginName implements store.Queries.
func (q *queries) UserGetByLoginName(ctx context.Context, p *store.UserGetByLoginNameParams) (*iam.User, error) {
	return scanUser(q.db.QueryRowContext(ctx,
		`SELECT `+userColumns+` FROM users WHERE instance_id = ? AND login_name_norm = ?`,
		p.InstanceID, strings.ToLower(p.LoginName)))
}

// UserList implements store.Queries.
func (q *queries) UserList(ctx context.Context, p *store.UserListParams) ([]*iam.User, error) {
	where := []string{"instance_id = ?"}
	args := []any{p.InstanceID}
	add := func(cond string, vs ...any) { where, args = append(where, cond), append(args, vs...) }
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
	rows, err := q.db.QueryContext(ctx, `SELECT `+userColumns+` FROM users WHERE `+strings.Join(where, " AND ")+
		` ORDER BY `+order+` LIMIT ?`, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list users: %w", mapErr(err))
	}
	defer rows.Close()
	var out []*iam.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: list users: %w", err)
		}
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list users: %w", mapErr(err))
	}
	return out, nil
}

// updateUser runs a versioned UPDATE of one user (version 0: any) and
// returns the updated row, ErrNotFound or ErrConflict.
func (q *queries) updateUser(ctx context.Context, what, set string, instanceID, id string, version int64, args ...any) (*iam.User, error) {
	return write(ctx, q, func(q *queries) (*iam.User, error) {
		query := `UPDATE users SET ` + set + `, version = version + 1 WHERE instance_id = ? AND id = ?`
		all := append(append([]any{}, args...), instanceID, id)
		if version != 0 {
			query += ` AND version = ?`
			all = append(all, version)
		}
		u, err := scanUser(q.db.QueryRowContext(ctx, query+` RETURNING `+userColumns, all...))
		if errors.Is(err, store.ErrNotFound) {
			return nil, q.missingOrConflict(ctx, `SELECT 1 FROM users WHERE instance_id = ? AND id = ?`, instanceID, id)
		}
		if err != nil {
			return nil, fmt.Errorf("sqlite: %s: %w", what, err)
		}
		return u, nil
	})
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
			u.LoginName, strings.ToLower(u.LoginName), string(u.State), m.Name, m.Description, micros(p.Now))
	}
	h := u.Human
	return q.updateUser(ctx, "update user",
		`login_name = ?, login_name_norm = ?, state = ?, email = ?, email_norm = ?, email_verified = ?,
		given_name = ?, family_name = ?, preferred_language = ?, changed_at = ?`,
		u.InstanceID, u.ID, u.Version,
		u.LoginName, strings.ToLower(u.LoginName), string(u.State), h.Email, strings.ToLower(h.Email), h.EmailVerified,
		h.GivenName, h.FamilyName, h.PreferredLanguage, micros(p.Now))
}

// UserSetPassword implements store.Queries.
func (q *queries) UserSetPassword(ctx context.Context, p *store.UserSetPasswordParams) (*iam.User, error) {
	return q.updateUser(ctx, "set user password", `password_hash = ?, password_change_required = ?, changed_at = ?`,
		p.InstanceID, p.ID, p.Version, p.Hash, p.ChangeRequired, micros(p.Now))
}

// UserSetSecretHash implements store.Queries.
func (q *queries) UserSetSecretHash(ctx context.Context, p *store.UserSetSecretHashParams) (*iam.User, error) {
	var hash any
	if p.Hash != nil {
		hash = p.Hash
	}
	return q.updateUser(ctx, "set user secret", `secret_hash = ?, changed_at = ?`,
		p.InstanceID, p.ID, p.Version, hash, micros(p.Now))
}

// UserDelete implements store.Queries.
func (q *queries) UserDelete(ctx context.Context, p *store.UserDeleteParams) error {
	_, err := write(ctx, q, func(q *queries) (struct{}, error) {
		res, err := q.db.ExecContext(ctx, `DELETE FROM users WHERE instance_id = ? AND id = ? AND version = ?`,
			p.InstanceID, p.ID, p.Version)
		if err != nil {
			return struct{}{}, fmt.Errorf("sqlite: delete user: %w", mapErr(err))
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return struct{}{}, q.missingOrConflict(ctx, `SELECT 1 FROM users WHERE instance_id = ? AND id = ?`, p.InstanceID, p.ID)
		}
		return struct{}{}, nil
	})
	return err
}

const patColumns = `instance_id, id, user_id, token_hash, expires_at, created_at`

func patScanTargets() ([]any, func() *iam.PersonalAccessToken) {
	var t iam.PersonalAccessToken
	var expires, created int64
	return []any{&t.InstanceID, &t.ID, &t.UserID, &t.TokenHash, &expires, &created}, func() *iam.PersonalAccessToken {
		t.ExpiresAt, t.CreatedAt = fromMicros(expires), fromMicros(created)
		return &t
	}
}

func scanPAT(row interface{ Scan(...any) error }) (*iam.PersonalAccessToken, error) {
	dst, done := patScanTargets()
	if err := row.Scan(dst...); err != nil {
		return nil, mapErr(err)
	}
	return done(), nil
}

// PersonalAccessTokenCreate implements store.Queries.
func (q *queries) PersonalAccessTokenCreate(ctx context.Context, p *store.PersonalAccessTokenCreateParams) (*iam.PersonalAccessToken, error) {
	return write(ctx, q, func(q *queries) (*iam.PersonalAccessToken, error) {
		t := p.Token
		out, err := scanPAT(q.db.QueryRowContext(ctx,
			`INSERT INTO personal_access_tokens (`+patColumns+`) VALUES (?, ?, ?, ?, ?, ?) RETURNING `+patColumns,
			t.InstanceID, t.ID, t.UserID, t.TokenHash, micros(t.ExpiresAt), micros(p.Now)))
		if err != nil {
			return nil, fmt.Errorf("sqlite: insert personal access token: %w", err)
		}
		return out, nil
	})
}

// PersonalAccessTokenGetByHash implements store.Queries: one query joining
// the token's user.
func (q *queries) PersonalAccessTokenGetByHash(ctx context.Context, p *store.PersonalAccessTokenGetByHashParams) (*iam.PersonalAccessToken, *iam.User, error) {
	tdst, tdone := patScanTargets()
	udst, udone := userScanTargets()
	err := q.db.QueryRowContext(ctx, `SELECT t.instance_id, t.id, t.user_id, t.token_hash, t.expires_at, t.created_at, `+userCols("u")+`
		FROM personal_access_tokens t JOIN users u ON u.instance_id = t.instance_id AND u.id = t.user_id
		WHERE t.instance_id = ? AND t.token_hash = ?`, p.InstanceID, p.Hash).Scan(append(tdst, udst...)...)
	if err != nil {
		return nil, nil, mapErr(err)
	}
	return tdone(), udone(), nil
}

// PersonalAccessTokenList implements store.Queries.
func (q *queries) PersonalAccessTokenList(ctx context.Context, p *store.PersonalAccessTokenListParams) ([]*iam.PersonalAccessToken, error) {
	rows, err := q.db.QueryContext(ctx, `SELECT `+patColumns+` FROM personal_access_tokens
		WHERE instance_id = ? AND user_id = ? AND id > ? ORDER BY id LIMIT ?`,
		p.InstanceID, p.UserID, p.AfterID, store.ClampLimit(p.Limit))
	if err != nil {
		return nil, fmt.Errorf("sqlite: list personal access tokens: %w", mapErr(err))
	}
	defer rows.Close()
	var out []*iam.PersonalAccessToken
	for rows.Next() {
		t, err := scanPAT(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: list personal access tokens: %w", err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list personal access tokens: %w", mapErr(err))
	}
	return out, nil
}

// PersonalAccessTokenDelete implements store.Queries.
func (q *queries) PersonalAccessTokenDelete(ctx context.Context, p *store.PersonalAccessTokenDeleteParams) error {
	return q.deleteOwned(ctx, "personal_access_tokens", p.InstanceID, p.UserID, p.ID)
}

func (q *queries) deleteOwned(ctx context.Context, table, instanceID, userID, id string) error {
	_, err := write(ctx, q, func(q *queries) (struct{}, error) {
		res, err := q.db.ExecContext(ctx, `DELETE FROM `+table+` WHERE instance_id = ? AND user_id = ? AND id = ?`,
			instanceID, userID, id)
		if err != nil {
			return struct{}{}, fmt.Errorf("sqlite: delete from %s: %w", table, mapErr(err))
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return struct{}{}, store.ErrNotFound
		}
		return struct{}{}, nil
	})
	return err
}

const machineKeyColumns = `instance_id, id, user_id, public_key, expires_at, created_at`

func scanMachineKey(row interface{ Scan(...any) error }) (*iam.MachineKey, error) {
	var k iam.MachineKey
	var expires, created int64
	if err := row.Scan(&k.InstanceID, &k.ID, &k.UserID, &k.PublicKeyPEM, &expires, &created); err != nil {
		return nil, mapErr(err)
	}
	k.ExpiresAt, k.CreatedAt = fromMicros(expires), fromMicros(created)
	return &k, nil
}

// MachineKeyCreate implements store.Queries.
func (q *queries) MachineKeyCreate(ctx context.Context, p *store.MachineKeyCreateParams) (*iam.MachineKey, error) {
	return write(ctx, q, func(q *queries) (*iam.MachineKey, error) {
		k := p.Key
		out, err := scanMachineKey(q.db.QueryRowContext(ctx,
			`INSERT INTO machine_keys (`+machineKeyColumns+`) VALUES (?, ?, ?, ?, ?, ?) RETURNING `+machineKeyColumns,
			k.InstanceID, k.ID, k.UserID, k.PublicKeyPEM, micros(k.ExpiresAt), micros(p.Now)))
		if err != nil {
			return nil, fmt.Errorf("sqlite: insert machine key: %w", err)
		}
		return out, nil
	})
}

// MachineKeyGetByID implements store.Queries.
func (q *queries) MachineKeyGetByID(ctx context.Context, p *store.MachineKeyGetByIDParams) (*iam.MachineKey, error) {
	query := `SELECT ` + machineKeyColumns + ` FROM machine_keys WHERE instance_id = ? AND id = ?`
	args := []any{p.InstanceID, p.ID}
	if p.UserID != "" {
		query += ` AND user_id = ?`
		args = append(args, p.UserID)
	}
	return scanMachineKey(q.db.QueryRowContext(ctx, query, args...))
}

// MachineKeyList implements store.Queries.
func (q *queries) MachineKeyList(ctx context.Context, p *store.MachineKeyListParams) ([]*iam.MachineKey, error) {
	rows, err := q.db.QueryContext(ctx, `SELECT `+machineKeyColumns+` FROM machine_keys
		WHERE instance_id = ? AND user_id = ? AND id > ? ORDER BY id LIMIT ?`,
		p.InstanceID, p.UserID, p.AfterID, store.ClampLimit(p.Limit))
	if err != nil {
		return nil, fmt.Errorf("sqlite: list machine keys: %w", mapErr(err))
	}
	defer rows.Close()
	var out []*iam.MachineKey
	for rows.Next() {
		k, err := scanMachineKey(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: list machine keys: %w", err)
		}
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list machine keys: %w", mapErr(err))
	}
	return out, nil
}

// MachineKeyDelete implements store.Queries.
func (q *queries) MachineKeyDelete(ctx context.Context, p *store.MachineKeyDeleteParams) error {
	return q.deleteOwned(ctx, "machine_keys", p.InstanceID, p.UserID, p.ID)
}
