package prom

import (
	"fmt"
	"strings"

	"github.com/eixamsim/eixamsim/scenario"
)

// namespace prefixes every family this package exports.
const namespace = "eixamsim_"

// Family names of the run-wide families, which no catalogue metric may
// take.
const (
	familyInfo      = namespace + "info"
	familyStart     = namespace + "start_time_seconds"
	familyFinished  = namespace + "run_finished"
	familyTarget    = namespace + "users_target"
	familyStage     = namespace + "stage_info"
	familyRemaining = namespace + "stage_remaining_seconds"
)

// baseName turns a dotted eixamsim metric name into the start of its
// Prometheus family name: "telemetry.puback" -> "eixamsim_telemetry_puback".
// Characters outside [a-zA-Z0-9_] become '_'.
func baseName(metric string) string {
	var b strings.Builder
	b.WriteString(namespace)
	for _, r := range metric {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	return b.String()
}

// LatencyFamily is the histogram family of a latency metric, in seconds:
// "telemetry.puback" -> "eixamsim_telemetry_puback_seconds".
func LatencyFamily(metric string) string { return baseName(metric) + "_seconds" }

// ErrorsFamily is the counter family of a latency metric's failures, by
// class: "telemetry.puback" -> "eixamsim_telemetry_puback_errors_total".
func ErrorsFamily(metric string) string { return baseName(metric) + "_errors_total" }

// CounterFamily is the family of a counter metric:
// "mqtt.disconnects" -> "eixamsim_mqtt_disconnects_total".
func CounterFamily(metric string) string { return baseName(metric) + "_total" }

// GaugeFamily is the family of a gauge metric:
// "users.online" -> "eixamsim_users_online".
func GaugeFamily(metric string) string { return baseName(metric) }

// families lists the family names metric m exports.
func families(m scenario.Metric) []string {
	switch m.Kind {
	case scenario.KindLatency:
		return []string{LatencyFamily(m.Name), ErrorsFamily(m.Name)}
	case scenario.KindCounter:
		return []string{CounterFamily(m.Name)}
	default:
		return []string{GaugeFamily(m.Name)}
	}
}

// checkNames reports catalogue metrics whose families collide with each
// other or with the run-wide families.
func checkNames(ms []scenario.Metric) error {
	owner := map[string]string{}
	for _, f := range []string{familyInfo, familyStart, familyFinished, familyTarget, familyStage, familyRemaining,
		familyStep, familyStepLoad, familyStepsDone, familyBestLoad} {
		owner[f] = "(run-wide)"
	}
	for _, m := range ms {
		switch m.Kind {
		case scenario.KindLatency, scenario.KindCounter, scenario.KindGauge:
		default:
			return fmt.Errorf("metric %q: unknown kind %q", m.Name, m.Kind)
		}
		for _, f := range families(m) {
			if o, ok := owner[f]; ok {
				return fmt.Errorf("metrics %q and %s both map to the Prometheus family %s", m.Name, o, f)
			}
			owner[f] = fmt.Sprintf("%q", m.Name)
		}
	}
	return nil
}
