# NativeKv container image: one Native AOT binary on Google's distroless "cc" base (glibc, libgcc_s,
# libstdc++, CA certificates, tzdata, a nonroot user; no shell, no package manager).
#
#   docker build -t nativekv .
#   docker run -d -p 6379:6379 -v nativekv-data:/data nativekv [--option value ...]
#
# The server reads /etc/nativekv/nativekv.conf (docker/nativekv.conf: every interface, protected-mode
# off, dir /data, as Redis's official image) and then any options given to `docker run`. Mount your own
# file over /etc/nativekv/nativekv.conf to replace it. It runs as the unprivileged user nonroot
# (65532); only /data needs to be writable (`docker run --read-only` works).

# ---- build: the .NET SDK (Debian 12), clang for the Native AOT link, Lua 5.4's static library --------
FROM mcr.microsoft.com/dotnet/sdk:9.0 AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends clang liblua5.4-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Directory.Build.props Directory.Packages.props NativeKv.sln .editorconfig build.sh ./
COPY engine/ engine/
COPY interop/ interop/
COPY server/ server/
RUN ./build.sh publish --force \
 && ./bin/nativekv --version \
 && mkdir -p /rootfs/data && chown 65532:65532 /rootfs/data

# ---- final: distroless cc (Debian 12, glibc 2.36), the binary and its default configuration ----------
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /src/bin/nativekv /usr/local/bin/nativekv
COPY --from=build --chown=65532:65532 /rootfs/data /data
COPY docker/nativekv.conf /etc/nativekv/nativekv.conf
USER 65532:65532
WORKDIR /data
VOLUME /data
EXPOSE 6379
# Options given to `docker run` come after the configuration file and override it.
ENTRYPOINT ["/usr/local/bin/nativekv", "/etc/nativekv/nativekv.conf"]
