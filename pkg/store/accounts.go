package store

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/taskflow/taskflow/pkg/errs"
)

// User is an account of TaskFlow's own identity provider.
type User struct {
	ID            string
	Name          string
	Email         string
	EmailVerified bool
	Image         *string
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// Session is a signed-in browser or client. The token itself is never
// stored: TokenHash is its SHA-256.
type Session struct {
	ID        string
	TokenHash []byte
	UserID    string
	ExpiresAt time.Time
	CreatedAt time.Time
	UpdatedAt time.Time
	IPAddress string
	UserAgent string
}

// SigningKey is an Ed25519 token signing key; Sealed is its private half,
// encrypted by the accounts function before it reaches the store.
type SigningKey struct {
	ID        string
	Public    []byte
	Sealed    []byte
	CreatedAt time.Time
	RetiredAt *time.Time
}

const userColumns = `id, name, email, email_verified, image, created_at, updated_at`

func scanUser(row pgx.Row, extra ...any) (User, error) {
	var u User
	err := row.Scan(append([]any{&u.ID, &u.Name, &u.Email, &u.EmailVerified, &u.Image, &u.CreatedAt, &u.UpdatedAt}, extra...)...)
	u.CreatedAt, u.UpdatedAt = u.CreatedAt.UTC(), u.UpdatedAt.UTC()
	return u, err
}

// CreateUser stores a new account with its first session. A taken email is
// errs.ErrConflict.
func (s *Store) CreateUser(ctx context.Context, u User, passwordHash string, first Session) error {
	return s.InTx(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO users (id, name, email, email_verified, image, password_hash, created_at, updated_at)
			VALUES (@id, @name, @email, @verified, @image, @hash, @created, @updated)`,
			pgx.NamedArgs{"id": u.ID, "name": u.Name, "email": u.Email, "verified": u.EmailVerified, "image": u.Image,
				"hash": passwordHash, "created": u.CreatedAt, "updated": u.UpdatedAt})
		if err != nil {
			return err
		}
		return insertSession(ctx, tx, first)
	})
}

// UserByEmail is the account with email and its password hash; ErrNotFound
// when there is none.
func (s *Store) UserByEmail(ctx context.Context, email string) (User, string, error) {
	var hash string
	u, err := scanUser(s.pool.QueryRow(ctx, `SELECT `+userColumns+`, password_hash FROM users WHERE email = $1`, email), &hash)
	return u, hash, dbErr(err)
}

// PasswordHash is the password hash of user id.
func (s *Store) PasswordHash(ctx context.Context, id string) (string, error) {
	var hash string
	err := s.pool.QueryRow(ctx, `SELECT password_hash FROM users WHERE id = $1`, id).Scan(&hash)
	return hash, dbErr(err)
}

// ChangePassword sets a user's password hash and ends every session of the
// user except keep (nil: all of them), then starts next when it is not nil,
// in one transaction.
func (s *Store) ChangePassword(ctx context.Context, userID, hash string, now time.Time, keep []byte, next *Session) error {
	return s.InTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE users SET password_hash = $2, updated_at = $3 WHERE id = $1`, userID, hash, now); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM sessions WHERE user_id = $1 AND ($2::bytea IS NULL OR token_hash <> $2)`,
			userID, keep); err != nil {
			return err
		}
		if next == nil {
			return nil
		}
		return insertSession(ctx, tx, *next)
	})
}

// CreateSession stores a new session.
func (s *Store) CreateSession(ctx context.Context, se Session) error {
	return s.InTx(ctx, func(tx pgx.Tx) error { return insertSession(ctx, tx, se) })
}

func insertSession(ctx context.Context, tx pgx.Tx, se Session) error {
	_, err := tx.Exec(ctx, `INSERT INTO sessions (id, token_hash, user_id, expires_at, created_at, updated_at, ip_address, user_agent)
		VALUES (@id, @hash, @user, @expires, @created, @updated, @ip, @agent)`,
		pgx.NamedArgs{"id": se.ID, "hash": se.TokenHash, "user": se.UserID, "expires": se.ExpiresAt,
			"created": se.CreatedAt, "updated": se.UpdatedAt, "ip": se.IPAddress, "agent": se.UserAgent})
	return err
}

// SessionByHash is the unexpired session whose token hashes to hash, with its
// user; ErrNotFound when there is none (never was, ended, or expired at now).
func (s *Store) SessionByHash(ctx context.Context, hash []byte, now time.Time) (Session, User, error) {
	var se Session
	u, err := scanUser(s.pool.QueryRow(ctx, `SELECT u.id, u.name, u.email, u.email_verified, u.image, u.created_at, u.updated_at,
			s.id, s.token_hash, s.expires_at, s.created_at, s.updated_at, coalesce(s.ip_address, ''), coalesce(s.user_agent, '')
		FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = $1 AND s.expires_at > $2`, hash, now),
		&se.ID, &se.TokenHash, &se.ExpiresAt, &se.CreatedAt, &se.UpdatedAt, &se.IPAddress, &se.UserAgent)
	se.UserID = u.ID
	se.ExpiresAt, se.CreatedAt, se.UpdatedAt = se.ExpiresAt.UTC(), se.CreatedAt.UTC(), se.UpdatedAt.UTC()
	return se, u, dbErr(err)
}

// SessionUser is the user id of the unexpired session whose token hashes to
// hash: how every function authenticates a browser's session cookie.
// Unknown, ended and expired sessions are errs.ErrUnauthenticated.
func (s *Store) SessionUser(ctx context.Context, hash []byte, now time.Time) (string, error) {
	var user string
	err := s.pool.QueryRow(ctx, `SELECT user_id FROM sessions WHERE token_hash = $1 AND expires_at > $2`, hash, now).Scan(&user)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", errs.With(errs.ErrUnauthenticated, "the session has ended")
	}
	return user, dbErr(err)
}

// DeleteSession ends the session whose token hashes to hash (nothing when
// there is none).
func (s *Store) DeleteSession(ctx context.Context, hash []byte) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM sessions WHERE token_hash = $1`, hash)
	return dbErr(err)
}

// SigningKeys are the keys created or retired after since, newest first:
// the ones whose tokens may still be valid.
func (s *Store) SigningKeys(ctx context.Context, since time.Time) ([]SigningKey, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, public_key, private_key, created_at, retired_at FROM signing_keys
		WHERE retired_at IS NULL OR retired_at > $1 ORDER BY created_at DESC, id`, since)
	if err != nil {
		return nil, dbErr(err)
	}
	keys, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (SigningKey, error) {
		var k SigningKey
		err := row.Scan(&k.ID, &k.Public, &k.Sealed, &k.CreatedAt, &k.RetiredAt)
		return k, err
	})
	return keys, dbErr(err)
}

// ActiveSigningKey is the key that signs at now: the newest unretired key
// made after now-maxAge and not after now. When there is none, it retires
// the others at now and stores the one newKey makes for now. Keys older than
// the active one are retired when it started signing.
//
// From lead before the active key's rotation, the next key is stored too,
// made by newKey for the moment it takes over: published in the JWKS ahead
// of its first token, so verifiers have it before they meet it. next
// reports whether that key exists. Replicas serialise on a
// transaction-scoped advisory lock, so exactly one key is made per rotation.
func (s *Store) ActiveSigningKey(ctx context.Context, now time.Time, maxAge, lead time.Duration,
	newKey func(createdAt time.Time) (SigningKey, error)) (k SigningKey, next bool, err error) {
	err = s.InTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(7351010)`); err != nil {
			return err
		}
		insert := func(k SigningKey) error {
			_, err := tx.Exec(ctx, `INSERT INTO signing_keys (id, public_key, private_key, created_at) VALUES ($1, $2, $3, $4)`,
				k.ID, k.Public, k.Sealed, k.CreatedAt)
			return err
		}
		err := tx.QueryRow(ctx, `SELECT id, public_key, private_key, created_at, retired_at FROM signing_keys
			WHERE retired_at IS NULL AND created_at > $1 AND created_at <= $2 ORDER BY created_at DESC LIMIT 1`, now.Add(-maxAge), now).
			Scan(&k.ID, &k.Public, &k.Sealed, &k.CreatedAt, &k.RetiredAt)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			if k, err = newKey(now); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `UPDATE signing_keys SET retired_at = $1 WHERE retired_at IS NULL`, now); err != nil {
				return err
			}
			if err := insert(k); err != nil {
				return err
			}
		case err != nil:
			return err
		default:
			// A pre-published key that has taken over retires its predecessors.
			if _, err := tx.Exec(ctx, `UPDATE signing_keys SET retired_at = $1 WHERE retired_at IS NULL AND created_at < $1`,
				k.CreatedAt); err != nil {
				return err
			}
		}
		k.CreatedAt = k.CreatedAt.UTC()
		rotation := k.CreatedAt.Add(maxAge)
		if now.Before(rotation.Add(-lead)) {
			return nil
		}
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM signing_keys WHERE created_at > $1)`, k.CreatedAt).
			Scan(&next); err != nil || next {
			return err
		}
		nk, err := newKey(rotation)
		if err != nil {
			return err
		}
		next = true
		return insert(nk)
	})
	return k, next, err
}

// ReplaceSigningKeys makes a new key, from newKey, the active one at now:
// every key in use is retired at now, and a key published ahead of its turn
// is dropped (it never signed). For a key that can no longer be opened.
func (s *Store) ReplaceSigningKeys(ctx context.Context, now time.Time, newKey func(createdAt time.Time) (SigningKey, error)) (SigningKey, error) {
	var k SigningKey
	err := s.InTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(7351010)`); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM signing_keys WHERE created_at > $1`, now); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE signing_keys SET retired_at = $1 WHERE retired_at IS NULL`, now); err != nil {
			return err
		}
		var err error
		if k, err = newKey(now); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO signing_keys (id, public_key, private_key, created_at) VALUES ($1, $2, $3, $4)`,
			k.ID, k.Public, k.Sealed, k.CreatedAt)
		return err
	})
	return k, dbErr(err)
}

// CountAttempt counts one sign-in attempt under key in the window that
// started at start, forgets the key's older windows, and returns the
// window's attempts so far, this one included.
func (s *Store) CountAttempt(ctx context.Context, key string, start time.Time) (int, error) {
	var n int
	err := s.InTx(ctx, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `INSERT INTO sign_in_attempts (key, window_start, attempts) VALUES ($1, $2, 1)
			ON CONFLICT (key, window_start) DO UPDATE SET attempts = sign_in_attempts.attempts + 1
			RETURNING attempts`, key, start).Scan(&n); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `DELETE FROM sign_in_attempts WHERE key = $1 AND window_start < $2`, key, start)
		return err
	})
	return n, err
}

// ClearAttempts forgets key's attempts (after a successful sign-in).
func (s *Store) ClearAttempts(ctx context.Context, key string) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM sign_in_attempts WHERE key = $1`, key)
	return dbErr(err)
}

// DeleteExpiredSessions deletes the sessions that expired before now.
func (s *Store) DeleteExpiredSessions(ctx context.Context, now time.Time) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM sessions WHERE expires_at <= $1`, now)
	return dbErr(err)
}
