# The eixamsim image: the binary on Alpine (whose tar lets `kubectl cp`
# fetch results), run as an unprivileged user. Build from the repository
# root, giving the version the binary records (the build context has no
# .git; scripts/build.sh refuses to build without a revision):
#
#   docker build -t REGISTRY/eixamsim:TAG \
#     --build-arg VERSION=$(git describe --tags --always --dirty) \
#     --build-arg REVISION=$(git rev-parse HEAD) \
#     --build-arg REVISION_TIME=$(git log -1 --format=%cI) .
FROM golang:1.26-alpine AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION REVISION REVISION_TIME
RUN scripts/build.sh /out/eixamsim

FROM alpine:3.22
# A numeric user, so that the kubelet can check runAsNonRoot against it.
RUN addgroup -g 10001 eixamsim && adduser -D -H -u 10001 -G eixamsim eixamsim
COPY --from=build /out/eixamsim /usr/local/bin/eixamsim
USER 10001:10001
ENTRYPOINT ["eixamsim"]
