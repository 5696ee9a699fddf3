package fleet

// Metric names this package records. Every one is in the scenario
// catalogue (scenario.Metrics); a test keeps the two in step.
const (
	mConnect     = "mqtt.connect"
	mSubscribe   = "mqtt.subscribe"
	mReconnect   = "mqtt.reconnect"
	mLogin       = "user.login"
	mTelPuback   = "telemetry.puback"
	mSOSPuback   = "sos.puback"
	mDelivered   = "sos.delivered"
	mAcked       = "sos.acknowledged"
	mVisible     = "sos.visible"
	mCancelled   = "sos.cancelled"
	mResolved    = "sos.resolved"
	mMe          = "http.me"
	mSOSGet      = "http.sos_get"
	mSOSCancel   = "http.sos_cancel"
	mSOSResolve  = "http.sos_resolve"
	mLag         = "schedule.lag"
	cOnline      = "users.online"
	cDisconnects = "mqtt.disconnects"
	cUnsent      = "telemetry.unsent"
	cDropped     = "arrivals.dropped"
)

// httpMetric is the latency metric of an HTTP action such as
// "contacts_list".
func httpMetric(action string) string { return "http." + action }
