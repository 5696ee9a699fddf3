package contract

import "slices"

// Endpoint names of the SDK HTTP API (contract §2.2 rows 1–12). The
// reference backend keys its per-endpoint faults and request statistics by
// them, a scenario's target.embedded.error_rate names them, and the
// simulator's HTTP metrics are called http.<endpoint>.
const (
	EndpointMe             = "me"              // GET /v1/sdk/me (§2.2 row 1)
	EndpointSOSGet         = "sos_get"         // GET /v1/sdk/sos (row 2)
	EndpointSOSCreate      = "sos_create"      // POST /v1/sdk/sos (row 5)
	EndpointSOSCancel      = "sos_cancel"      // POST /v1/sdk/sos/cancel (row 3)
	EndpointSOSResolve     = "sos_resolve"     // POST /v1/sdk/sos/resolve (row 4)
	EndpointContactsList   = "contacts_list"   // GET /v1/sdk/contacts (row 6)
	EndpointContactsCreate = "contacts_create" // POST /v1/sdk/contacts (row 7)
	EndpointContactsUpdate = "contacts_update" // PUT /v1/sdk/contacts/{id} (row 8)
	EndpointContactsDelete = "contacts_delete" // DELETE /v1/sdk/contacts/{id} (row 9)
	EndpointDevicesList    = "devices_list"    // GET /v1/sdk/devices (row 10)
	EndpointDevicesUpsert  = "devices_upsert"  // POST /v1/sdk/devices (row 11)
	EndpointDevicesDelete  = "devices_delete"  // DELETE /v1/sdk/devices/{id} (row 12)
)

// endpointNames is every endpoint name, in the order of EndpointNames.
var endpointNames = []string{
	EndpointMe, EndpointSOSGet, EndpointSOSCreate, EndpointSOSCancel, EndpointSOSResolve,
	EndpointContactsList, EndpointContactsCreate, EndpointContactsUpdate, EndpointContactsDelete,
	EndpointDevicesList, EndpointDevicesUpsert, EndpointDevicesDelete,
}

// EndpointNames returns the names of all SDK endpoints: me, the SOS
// endpoints, then contacts and devices. The slice is the caller's.
func EndpointNames() []string { return slices.Clone(endpointNames) }

// IsEndpoint reports whether name is one of EndpointNames.
func IsEndpoint(name string) bool { return slices.Contains(endpointNames, name) }
