package api

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"posagent/agent"
)

// Metrics is the daemon's Prometheus registry. It is the engine's Observer
// (payments by outcome, tap and online durations) and reads the uplink and
// queue state from Engine.Status at each scrape.
type Metrics struct {
	reg      *prometheus.Registry
	payments *prometheus.CounterVec
	tap      prometheus.Histogram
	online   prometheus.Histogram
}

// durationBuckets spans a fast tap (~50 ms) to a slow acquirer (~30 s).
var durationBuckets = []float64{.025, .05, .1, .2, .35, .5, .75, 1, 1.5, 2.5, 5, 10, 30}

// NewMetrics registers the daemon's metrics; status (nil allowed) is read at
// each scrape for the uplink and queue gauges.
func NewMetrics(status interface{ Status() Status }) *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		payments: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "posagent_payments_total",
			Help: "Payments that reached a final state, by kind and outcome (state).",
		}, []string{"kind", "outcome"}),
		tap: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "posagent_tap_duration_seconds", Help: "Card in the field: from card detected to kernel outcome.",
			Buckets: durationBuckets,
		}),
		online: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "posagent_online_duration_seconds", Help: "Online authorisation: request armed to response (or give-up).",
			Buckets: durationBuckets,
		}),
	}
	m.reg.MustRegister(m.payments, m.tap, m.online,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if status != nil {
		m.reg.MustRegister(&statusCollector{src: status})
	}
	return m
}

// Registry lets cmd/ or other packages register more collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// PaymentFinal counts a payment that reached a final state.
func (m *Metrics) PaymentFinal(p agent.Payment) {
	if p.State.Final() {
		m.payments.WithLabelValues(string(p.Kind), string(p.State)).Inc()
	}
}

// TapDuration records one card session.
func (m *Metrics) TapDuration(d time.Duration) { m.tap.Observe(d.Seconds()) }

// OnlineDuration records one online round trip.
func (m *Metrics) OnlineDuration(d time.Duration) { m.online.Observe(d.Seconds()) }

// statusCollector turns Engine.Status into gauges at scrape time.
type statusCollector struct{ src interface{ Status() Status } }

var (
	descUplink = prometheus.NewDesc("posagent_uplink_up", "1 when the acquirer connection is up.", nil, nil)
	descDepth  = prometheus.NewDesc("posagent_queue_depth", "Entries waiting in the store-and-forward queue (advices, reversals).", nil, nil)
	descOldest = prometheus.NewDesc("posagent_queue_oldest_age_seconds", "Age of the oldest queued entry (0 when empty).", nil, nil)
)

func (c *statusCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descUplink
	ch <- descDepth
	ch <- descOldest
}

func (c *statusCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.src.Status()
	up := 0.0
	if st.Uplink.Connected {
		up = 1
	}
	age := 0.0
	if !st.Queue.Oldest.IsZero() {
		age = time.Since(st.Queue.Oldest).Seconds()
	}
	ch <- prometheus.MustNewConstMetric(descUplink, prometheus.GaugeValue, up)
	ch <- prometheus.MustNewConstMetric(descDepth, prometheus.GaugeValue, float64(st.Queue.Depth))
	ch <- prometheus.MustNewConstMetric(descOldest, prometheus.GaugeValue, age)
}
