package promwrite

import (
	"math"
	"sort"
	"strconv"

	dto "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/encoding/protowire"
)

// label is one label of a series.
type label struct{ name, value string }

// series is one time series with one sample.
type series struct {
	labels []label // sorted by name, no empty values
	value  float64
	tsMs   int64 // sample time, Unix milliseconds
}

// flatten turns gathered families into series at tsMs, the way the text
// format spells them: a histogram becomes _bucket{le} (with +Inf), _sum
// and _count; a summary {quantile}, _sum and _count. extra labels are
// added to every series (a family's own label of the same name wins).
// Labels with empty values are dropped: to Prometheus they do not exist.
func flatten(mfs []*dto.MetricFamily, extra map[string]string, tsMs int64) []series {
	var out []series
	add := func(name string, m *dto.Metric, v float64, more ...label) {
		ls := []label{{"__name__", name}}
		own := map[string]bool{}
		for _, l := range m.GetLabel() {
			own[l.GetName()] = l.GetValue() != ""
			ls = append(ls, label{l.GetName(), l.GetValue()})
		}
		ls = append(ls, more...)
		for k, v := range extra {
			if !own[k] {
				ls = append(ls, label{k, v})
			}
		}
		kept := ls[:0]
		for _, l := range ls {
			if l.value != "" {
				kept = append(kept, l)
			}
		}
		sort.Slice(kept, func(i, j int) bool { return kept[i].name < kept[j].name })
		out = append(out, series{labels: kept, value: v, tsMs: tsMs})
	}
	for _, mf := range mfs {
		name := mf.GetName()
		for _, m := range mf.GetMetric() {
			switch mf.GetType() {
			case dto.MetricType_COUNTER:
				add(name, m, m.GetCounter().GetValue())
			case dto.MetricType_GAUGE:
				add(name, m, m.GetGauge().GetValue())
			case dto.MetricType_UNTYPED:
				add(name, m, m.GetUntyped().GetValue())
			case dto.MetricType_HISTOGRAM:
				h := m.GetHistogram()
				for _, b := range h.GetBucket() {
					add(name+"_bucket", m, float64(b.GetCumulativeCount()), label{"le", formatFloat(b.GetUpperBound())})
				}
				add(name+"_bucket", m, float64(h.GetSampleCount()), label{"le", "+Inf"})
				add(name+"_sum", m, h.GetSampleSum())
				add(name+"_count", m, float64(h.GetSampleCount()))
			case dto.MetricType_SUMMARY:
				s := m.GetSummary()
				for _, q := range s.GetQuantile() {
					add(name, m, q.GetValue(), label{"quantile", formatFloat(q.GetQuantile())})
				}
				add(name+"_sum", m, s.GetSampleSum())
				add(name+"_count", m, float64(s.GetSampleCount()))
			}
		}
	}
	return out
}

// formatFloat spells a bucket bound or quantile as the text format does.
func formatFloat(f float64) string {
	if math.IsInf(f, 1) {
		return "+Inf"
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

// writeRequest is a remote-write 1.0 prometheus.WriteRequest (field
// numbers from Prometheus's prompb/remote.proto and types.proto):
//
//	WriteRequest { repeated TimeSeries timeseries = 1; }
//	TimeSeries   { repeated Label labels = 1; repeated Sample samples = 2; }
//	Label        { string name = 1; string value = 2; }
//	Sample       { double value = 1; int64 timestamp = 2; }
//
// It offers the Size and MarshalToSizedBuffer methods the remote API's
// Write uses to encode a message.
type writeRequest struct {
	enc []byte
}

func newWriteRequest(ss []series) *writeRequest {
	var b, ts, buf []byte
	for _, s := range ss {
		ts = ts[:0]
		for _, l := range s.labels {
			buf = buf[:0]
			buf = protowire.AppendTag(buf, 1, protowire.BytesType)
			buf = protowire.AppendString(buf, l.name)
			buf = protowire.AppendTag(buf, 2, protowire.BytesType)
			buf = protowire.AppendString(buf, l.value)
			ts = protowire.AppendTag(ts, 1, protowire.BytesType)
			ts = protowire.AppendBytes(ts, buf)
		}
		buf = buf[:0]
		buf = protowire.AppendTag(buf, 1, protowire.Fixed64Type)
		buf = protowire.AppendFixed64(buf, math.Float64bits(s.value))
		buf = protowire.AppendTag(buf, 2, protowire.VarintType)
		buf = protowire.AppendVarint(buf, uint64(s.tsMs))
		ts = protowire.AppendTag(ts, 2, protowire.BytesType)
		ts = protowire.AppendBytes(ts, buf)

		b = protowire.AppendTag(b, 1, protowire.BytesType)
		b = protowire.AppendBytes(b, ts)
	}
	return &writeRequest{enc: b}
}

// Size returns the encoded size in bytes.
func (w *writeRequest) Size() int { return len(w.enc) }

// MarshalToSizedBuffer writes the encoding at the end of b, which must
// hold at least Size bytes, and returns Size.
func (w *writeRequest) MarshalToSizedBuffer(b []byte) (int, error) {
	copy(b[len(b)-len(w.enc):], w.enc)
	return len(w.enc), nil
}
