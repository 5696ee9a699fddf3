package refbackend

// Endpoint names of the SDK HTTP API (contract §2.2 rows 1–12). They key
// Faults.EndpointLatency, Faults.ErrorRate and HTTPStats.Requests; the
// simulator's metrics are named http.<endpoint>.
const (
	EndpointMe             = "me"              // GET /v1/sdk/me
	EndpointSOSGet         = "sos_get"         // GET /v1/sdk/sos
	EndpointSOSCreate      = "sos_create"      // POST /v1/sdk/sos
	EndpointSOSCancel      = "sos_cancel"      // POST /v1/sdk/sos/cancel
	EndpointSOSResolve     = "sos_resolve"     // POST /v1/sdk/sos/resolve
	EndpointContactsList   = "contacts_list"   // GET /v1/sdk/contacts
	EndpointContactsCreate = "contacts_create" // POST /v1/sdk/contacts
	EndpointContactsUpdate = "contacts_update" // PUT /v1/sdk/contacts/{id}
	EndpointContactsDelete = "contacts_delete" // DELETE /v1/sdk/contacts/{id}
	EndpointDevicesList    = "devices_list"    // GET /v1/sdk/devices
	EndpointDevicesUpsert  = "devices_upsert"  // POST /v1/sdk/devices
	EndpointDevicesDelete  = "devices_delete"  // DELETE /v1/sdk/devices/{id}
)

// EndpointNames returns the names of all SDK endpoints, in contract order.
func EndpointNames() []string {
	return []string{
		EndpointMe, EndpointSOSGet, EndpointSOSCreate, EndpointSOSCancel, EndpointSOSResolve,
		EndpointContactsList, EndpointContactsCreate, EndpointContactsUpdate, EndpointContactsDelete,
		EndpointDevicesList, EndpointDevicesUpsert, EndpointDevicesDelete,
	}
}

// isEndpoint reports whether name is one of EndpointNames.
func isEndpoint(name string) bool {
	switch name {
	case EndpointMe, EndpointSOSGet, EndpointSOSCreate, EndpointSOSCancel, EndpointSOSResolve,
		EndpointContactsList, EndpointContactsCreate, EndpointContactsUpdate, EndpointContactsDelete,
		EndpointDevicesList, EndpointDevicesUpsert, EndpointDevicesDelete:
		return true
	}
	return false
}
