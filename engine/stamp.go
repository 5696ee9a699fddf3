package engine

// The version and revision a build was stamped with, for builds that have
// no VCS information of their own (a container build from a tree without
// .git): scripts/build.sh sets them with
//
//	-ldflags "-X github.com/eixamsim/eixamsim/engine.stampVersion=v1.2.3 -X ...stampRevision=<commit> -X ...stampTime=<commit time>"
//
// Empty (the default) leaves BuildInfo's values from the build info.
var stampVersion, stampRevision, stampTime string

// stamp puts the -ldflags values that were set into b.
func stamp(b Build) Build {
	if stampVersion != "" {
		b.Version = stampVersion
	}
	if stampRevision != "" {
		b.Revision = stampRevision
	}
	if stampTime != "" {
		b.Time = stampTime
	}
	return b
}
