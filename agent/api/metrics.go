package api

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"posagent/agent"
	"posagent/emv"
	"posagent/offline"
)

// Metrics is the daemon's Prometheus registry. It is the engine's Observer
// (payments by outcome, tap and online durations, uplink state) and reads
// the queue from Engine.Status at each scrape.
type Metrics struct {
	reg      *prometheus.Registry
	payments *prometheus.CounterVec
	tap      prometheus.Histogram
	online   *prometheus.HistogramVec
	uplink   prometheus.Gauge
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
		online: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "posagent_online_duration_seconds", Help: "Online authorisation: request armed to response (or give-up), by result.",
			Buckets: durationBuckets,
		}, []string{"result"}),
		uplink: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "posagent_uplink_up", Help: "1 while the acquirer connection is up.",
		}),
	}
	m.reg.MustRegister(m.payments, m.tap, m.online, m.uplink,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if status != nil {
		m.reg.MustRegister(&statusCollector{src: status})
	}
	return m
}

// StatusFunc adapts a function to the status source of NewMetrics (for an
// engine opened after its Observer is made).
type StatusFunc func() Status

// Status calls f.
func (f StatusFunc) Status() Status { return f() }

// Registry lets cmd/ or other packages register more collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Final counts a payment that reached a final state (agent.Observer).
func (m *Metrics) Final(p agent.Payment) {
	if p.State.Final() {
		m.payments.WithLabelValues(string(p.Kind), string(p.State)).Inc()
	}
}

// Tap records one card session (agent.Observer).
func (m *Metrics) Tap(input string, d time.Duration, rep emv.Report) { m.tap.Observe(d.Seconds()) }

// Online records one online round trip and its result (agent.Observer).
func (m *Metrics) Online(d time.Duration, result string) {
	m.online.WithLabelValues(result).Observe(d.Seconds())
}

// Uplink records the acquirer connection going up or down (agent.Observer).
func (m *Metrics) Uplink(up bool) {
	if up {
		m.uplink.Set(1)
	} else {
		m.uplink.Set(0)
	}
}

// queuedStates are the queue states of entries still to be sent.
var queuedStates = []string{string(offline.StateHeld), string(offline.StatePending), string(offline.StateInFlight)}

// statusCollector turns Engine.Status into the queue gauges at scrape time.
type statusCollector struct{ src interface{ Status() Status } }

var (
	descDepth  = prometheus.NewDesc("posagent_queue_depth", "Entries waiting in the store-and-forward queue (advices, reversals).", nil, nil)
	descOldest = prometheus.NewDesc("posagent_queue_oldest_age_seconds", "Age of the oldest queued entry (0 when empty).", nil, nil)
)

func (c *statusCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descDepth
	ch <- descOldest
}

func (c *statusCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.src.Status()
	depth := 0
	for _, s := range queuedStates {
		depth += st.Queue.ByState[s]
	}
	age := 0.0
	if !st.Queue.OldestPending.IsZero() {
		age = time.Since(st.Queue.OldestPending).Seconds()
	}
	ch <- prometheus.MustNewConstMetric(descDepth, prometheus.GaugeValue, float64(depth))
	ch <- prometheus.MustNewConstMetric(descOldest, prometheus.GaugeValue, age)
}
