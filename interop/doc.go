// Package interop holds tests of the simulator's transports against
// independent peers: brokers and servers not written in this module
// (Debian's mosquitto, Prometheus), started by the tests on loopback. A
// test whose peer is not installed skips, saying which package to install;
// .ci/run installs them.
package interop
