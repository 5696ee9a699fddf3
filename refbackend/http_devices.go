package refbackend

import (
	"cmp"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/eixamsim/eixamsim/contract"
)

// deviceRow is a registry row; seq orders the list by creation.
type deviceRow struct {
	d   contract.Device
	seq uint64
}

type devicesBody struct {
	Devices []contract.Device `json:"devices"`
}

type deviceBody struct {
	Device contract.Device `json:"device"`
}

// devicesList serves GET /v1/sdk/devices: 200 {"devices":[…]} in creation
// order.
func (a *api) devicesList(w http.ResponseWriter, _ *http.Request, u *user, _ string) {
	u.mu.Lock()
	rows := make([]*deviceRow, 0, len(u.devices))
	for _, row := range u.devices {
		rows = append(rows, row)
	}
	u.mu.Unlock()
	slices.SortFunc(rows, func(x, y *deviceRow) int { return cmp.Compare(x.seq, y.seq) })
	body := devicesBody{Devices: make([]contract.Device, len(rows))}
	for i, row := range rows {
		body.Devices[i] = row.d
	}
	writeJSON(w, http.StatusOK, body)
}

// devicesUpsert serves POST /v1/sdk/devices (contract §2.9): keyed by
// hardware_id, it updates the user's row with that hardware id (same id,
// same created_at) or creates "dev_<n>"; always 200 {"device":{…}}, never
// 201. 409 when a new row would exceed MaxDevicesPerUser.
func (a *api) devicesUpsert(w http.ResponseWriter, r *http.Request, u *user, _ string) {
	body, apiErr := readBody(w, r, a.s.cfg.MaxBodyBytes)
	if apiErr != nil {
		apiErr.write(w)
		return
	}
	in, apiErr := parseDevice(body)
	if apiErr != nil {
		apiErr.write(w)
		return
	}
	now := contract.Timestamp(time.Now())
	u.mu.Lock()
	var row *deviceRow
	for _, r := range u.devices {
		if r.d.HardwareID == in.HardwareID {
			row = r
			break
		}
	}
	if row == nil {
		if len(u.devices) >= a.s.cfg.MaxDevicesPerUser {
			u.mu.Unlock()
			writeError(w, http.StatusConflict, fmt.Sprintf("device limit reached (%d per user)", a.s.cfg.MaxDevicesPerUser))
			return
		}
		seq := a.deviceSeq.Add(1)
		row = &deviceRow{seq: seq, d: contract.Device{
			ID:         "dev_" + strconv.FormatUint(seq, 10),
			HardwareID: in.HardwareID,
			CreatedAt:  now,
		}}
		if u.devices == nil {
			u.devices = make(map[string]*deviceRow)
		}
		u.devices[row.d.ID] = row
	}
	row.d.FirmwareVersion, row.d.HardwareModel, row.d.PairedAt = in.FirmwareVersion, in.HardwareModel, in.PairedAt
	row.d.UpdatedAt = now
	d := row.d
	u.mu.Unlock()
	writeJSON(w, http.StatusOK, deviceBody{Device: d})
}

// devicesDelete serves DELETE /v1/sdk/devices/{id} (the row id, not the
// hardware id): 204; 404 if unknown.
func (a *api) devicesDelete(w http.ResponseWriter, _ *http.Request, u *user, id string) {
	u.mu.Lock()
	_, ok := u.devices[id]
	delete(u.devices, id)
	u.mu.Unlock()
	if !ok {
		writeError(w, http.StatusNotFound, "device not found: "+id)
		return
	}
	writeNoContent(w)
}

// parseDevice decodes a device upsert body (contract §2.9): hardware_id
// (non-empty), firmware_version, hardware_model (may be "") and paired_at
// strings, all required; unknown keys are ignored. A problem is a 400
// naming every problem.
func parseDevice(body []byte) (contract.DeviceInput, *apiError) {
	f, apiErr := parseObject(body)
	if apiErr != nil {
		return contract.DeviceInput{}, apiErr
	}
	in := contract.DeviceInput{
		HardwareID:      f.str("hardware_id"),
		FirmwareVersion: f.str("firmware_version"),
		HardwareModel:   f.str("hardware_model"),
		PairedAt:        f.str("paired_at"),
	}
	if _, ok := f.m["hardware_id"]; ok && in.HardwareID == "" {
		f.problem("hardware_id must not be empty")
	}
	return in, f.err()
}
