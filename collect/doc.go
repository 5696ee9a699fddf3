// Package collect carries the result directories of a sharded run's
// shards to one collector over HTTP, so that shards that share no volume
// (Kubernetes pods on ReadWriteOnce storage, machines without a shared
// disk) can be merged (docs/distributed.md). A shard sends its result
// directory once its run is over, whatever the verdict (Send), or, when
// it has none, why (SendFailure); the collector (Receiver) keeps what one
// run's shards send and hands the directories to the merge.
//
// The protocol, under the collector's base URL:
//
//	PUT /v1/runs/{run id}/shards/{index}/results   gzip-compressed tar of the directory
//	PUT /v1/runs/{run id}/shards/{index}/failure   JSON {"exit_code": N, "error": "..."}
//	GET /v1/status                                 text: which shards are in
//
// A collector takes one run id and shard count: anything else is refused
// (409 for another run, 400 for an index out of range), as is an archive
// whose summary.json is not that shard's (422), one with a path outside
// its directory, a link or a device in it (400), or one past MaxShardBytes
// (413). A shard may send again (a retry after a lost answer): the later
// upload replaces the earlier. Once the collector stops waiting, every
// upload gets 410.
package collect
