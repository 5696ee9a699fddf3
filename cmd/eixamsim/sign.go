package main

import (
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/eixamsim/eixamsim/contract"
	"github.com/eixamsim/eixamsim/scenario"
)

// signFlags are the options of `eixamsim sign`.
type signFlags struct {
	app                   string
	secretEnv, secretFile string
	secret                string // refused
	users                 int
	userID                string
	out                   string
}

func newSignCmd(e *env) *cobra.Command {
	var f signFlags
	cmd := &cobra.Command{
		Use:   "sign [SCENARIO.yaml] [flags]",
		Short: "sign user ids into a sessions CSV, so load machines need no app secret",
		Long: `Sign external user ids with the app secret into a sessions CSV
(appId,externalUserId,userHash), the file identity.sessions_file reads
(docs/scenario.md). Load machines then carry pre-signed sessions instead of the
app secret.

Either name the app and the secret:

  eixamsim sign --app partner-app --secret-env EIXAM_APP_SECRET --users 5000 \
      --user-id 'loadtest-{{.N}}' --out sessions.csv

or take both from a scenario's identity (its users: fleet.users, or --users):

  eixamsim sign scenarios/smoke.yaml --out sessions.csv

The secret is read from an environment variable or a file, never from the
command line. Neither the secret nor a hash is printed; the CSV holds the
hashes by design, so it is written readable by its owner only.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 {
				return usageError("sign: want at most one scenario file, got %d arguments", len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := refuseSecretFlag(cmd, "sign"); err != nil {
				return err
			}
			id, users, err := f.identity(cmd, args)
			if err != nil {
				return err
			}
			if err := writeSessions(f.out, id, users); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "eixamsim: signed %d sessions of app %q into %s (it holds the userHashes: keep it like a secret)\n", users, id.AppID, f.out)
			return nil
		},
	}
	fl := cmd.Flags()
	fl.SortFlags = false
	fl.StringVar(&f.app, "app", "", "the app `ID` of every session")
	fl.StringVar(&f.secretEnv, "secret-env", "", "read the app secret from environment variable `VAR`")
	fl.StringVar(&f.secretFile, "secret-file", "", "read the app secret from `FILE` (one trailing newline is dropped)")
	addSecretFlag(cmd, &f.secret)
	fl.IntVarP(&f.users, "users", "u", 0, "sign `N` users, .N = 0..N-1 (default with a scenario: fleet.users)")
	fl.StringVar(&f.userID, "user-id", "eixamsim-{{.N}}", "external user id `TEMPLATE` (text/template, .N = 0-based user index)")
	fl.StringVarP(&f.out, "out", "o", "sessions.csv", "write the CSV to `FILE` (replaced atomically)")
	return cmd
}

// identity is the identity to sign and how many users, from a scenario or
// from the flags.
func (f *signFlags) identity(cmd *cobra.Command, args []string) (*scenario.Identity, int, error) {
	fl := cmd.Flags()
	if len(args) == 1 {
		for _, name := range []string{"app", "secret-env", "secret-file", "user-id"} {
			if fl.Changed(name) {
				return nil, 0, usageError("sign: --%s and a scenario file exclude each other: the scenario's identity is used", name)
			}
		}
		sc, err := scenario.Load(args[0], scenario.Options{})
		if err != nil {
			return nil, 0, withCode(exitUsage, err)
		}
		if sc.Identity.SessionsFile != "" {
			return nil, 0, usageError("sign: %s already reads pre-signed sessions from %s", args[0], sc.Identity.SessionsFile)
		}
		users := sc.Fleet.Users
		if fl.Changed("users") {
			users = f.users
		}
		if users < 1 {
			return nil, 0, usageError("sign: --users must be at least 1")
		}
		return &sc.Identity, users, nil
	}
	if f.app == "" || strings.Contains(f.app, ":") {
		return nil, 0, usageError("sign: --app ID is needed, non-empty and free of ':' (or give a scenario file)")
	}
	if f.users < 1 {
		return nil, 0, usageError("sign: --users N is needed, at least 1")
	}
	secret, err := readSecret("sign", f.secretEnv, f.secretFile)
	if err != nil {
		return nil, 0, err
	}
	id := &scenario.Identity{AppID: f.app, AppSecret: scenario.Secret(secret), UserID: f.userID}
	if _, err := id.ExternalUserID(0); err != nil {
		return nil, 0, usageError("sign: --user-id %q: %v", f.userID, err)
	}
	return id, f.users, nil
}

// readSecret reads an app secret from the environment variable env or the
// file file; exactly one must be given. Problems are usage errors that
// never quote the secret.
func readSecret(cmd, env, file string) (string, error) {
	switch {
	case env != "" && file != "":
		return "", usageError("%s: give either --secret-env or --secret-file, not both", cmd)
	case env != "":
		v, ok := os.LookupEnv(env)
		if !ok || v == "" {
			return "", usageError("%s: environment variable %s (from --secret-env) is not set or empty", cmd, env)
		}
		return v, nil
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return "", usageError("%s: --secret-file: %v", cmd, err)
		}
		secret := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
		if secret == "" {
			return "", usageError("%s: --secret-file %s is empty", cmd, file)
		}
		return secret, nil
	}
	return "", usageError("%s: the app secret is needed: --secret-env VAR or --secret-file FILE", cmd)
}

// writeSessions signs users 0..users-1 of id into path, atomically, with
// a header row, readable by its owner only. Two users with the same MQTT
// client id (the SDK cuts ids, contract §3.1) are refused, as the
// scenario's loader would refuse the file.
func writeSessions(path string, id *scenario.Identity, users int) (err error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*") // mode 0600
	if err != nil {
		return withCode(exitUsage, fmt.Errorf("sign: %w", err))
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := signInto(tmp, id, users); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("sign: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("sign: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("sign: %w", err)
	}
	return nil
}

func signInto(w io.Writer, id *scenario.Identity, users int) error {
	cw := csv.NewWriter(w)
	if err := cw.Write([]string{"appId", "externalUserId", "userHash"}); err != nil {
		return fmt.Errorf("sign: %w", err)
	}
	seen := make(map[string]int, users)
	for n := range users {
		s, err := id.Session(n)
		if err != nil {
			return usageError("sign: %v", err)
		}
		cid := contract.ClientID(s.AppID, s.ExternalUserID)
		if first, dup := seen[cid]; dup {
			return usageError("sign: users %d and %d get the same MQTT client id (ids are cut at 64 characters and characters outside [A-Za-z0-9_-] become _, contract §3.1): change --user-id", first, n)
		}
		seen[cid] = n
		if err := cw.Write([]string{s.AppID, s.ExternalUserID, s.UserHash.Reveal()}); err != nil {
			return fmt.Errorf("sign: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("sign: %w", err)
	}
	return nil
}
