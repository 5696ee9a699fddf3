package main

import (
	"github.com/spf13/cobra"

	"github.com/eixamsim/eixamsim/scenario"
)

func newSchemaCmd(e *env) *cobra.Command {
	return &cobra.Command{
		Use:   "schema",
		Short: "print the JSON Schema of scenario files",
		Long: `Print the JSON Schema of scenario files, generated from the same key tables
the loader uses, for editors (yaml-language-server) and CI linters. The loader
checks more than the schema can say (units, cross-key rules); use validate for
the full check.`,
		Example: `  eixamsim schema > eixamsim.schema.json
  # then, first line of a scenario: # yaml-language-server: $schema=./eixamsim.schema.json`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			_, err := e.stdout.Write(scenario.Schema())
			return err
		},
	}
}
