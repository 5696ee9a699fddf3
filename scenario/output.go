package scenario

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"text/template"
	"time"
)

// StartLayout is the time layout of .Start in output.dir.
const StartLayout = "20060102-150405"

// Render returns the result directory for a run of the named scenario
// started at start (formatted in start's location as StartLayout), cleaned
// with filepath.Clean.
func (o Output) Render(name string, start time.Time) (string, error) {
	t, err := template.New("output.dir").Option("missingkey=error").Parse(o.Dir)
	if err != nil {
		return "", fmt.Errorf("invalid template: %s", strings.TrimPrefix(err.Error(), "template: "))
	}
	if err := checkTemplateNodes(t.Root); err != nil || len(t.Templates()) > 1 {
		return "", errors.New("invalid template: only {{.Name}}, {{.Start}}, functions such as printf, and if are supported")
	}
	var b limitedBuilder
	data := struct{ Name, Start string }{name, start.Format(StartLayout)}
	if err := t.Execute(&b, data); err != nil {
		return "", fmt.Errorf("cannot render: %s", templateExecError(err, "{{.Name}} and {{.Start}}"))
	}
	if strings.TrimSpace(b.String()) == "" {
		return "", errors.New("renders an empty path")
	}
	return filepath.Clean(b.String()), nil
}
