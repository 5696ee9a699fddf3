package errclass

import "testing"

func TestFamilies(t *testing.T) {
	for got, want := range map[Class]Class{
		HTTP(503):     "http_503",
		Connack(0x9f): "connack_0x9f",
		Suback(0x87):  "suback_0x87",
		Puback(0x97):  "puback_0x97",
	} {
		if got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
}
