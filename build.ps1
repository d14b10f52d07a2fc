#!/usr/bin/env pwsh
# build.ps1: PowerShell mirror of build.sh (same verbs) for Windows users; also runs under pwsh on Linux.
#
#   ./build.ps1 prereqs | publish [--force] | run [server options...] | test [dotnet test args...]
#              | bench [compare.sh args...] | bench micro [BenchmarkDotNet args...] | clean | help
#
# Windows: Native AOT needs the Visual Studio C++ build tools ("Desktop development with C++"), and Lua 5.4
# must be given as a static library: set NATIVEKV_LUA_STATIC_LIB=C:\path\lua54.lib, or pass
# --lua-static-lib C:\path\lua54.lib, or pass '-p:LuaStaticLib=C:\path\lua54.lib' (quoted: PowerShell splits
# an unquoted -name:value argument in two). The script hands it to dotnet publish as -p:LuaStaticLib=...
#
# There is deliberately no param() block: every argument reaches $args untouched by PowerShell's
# parameter binder, so server options such as --port or -P pass through as written.
Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'

$Root = $PSScriptRoot
Set-Location $Root
$env:DOTNET_CLI_TELEMETRY_OPTOUT = '1'
$env:DOTNET_NOLOGO = '1'

$OnWindows = [System.Environment]::OSVersion.Platform -eq [System.PlatformID]::Win32NT
if ($OnWindows) { $Rid = 'win-x64'; $ExeName = 'nativekv.exe' } else { $Rid = 'linux-x64'; $ExeName = 'nativekv' }
$Bin = Join-Path $Root (Join-Path 'bin' $ExeName)
$PublishDir = Join-Path $Root (Join-Path 'artifacts' 'publish')
$ResultsDir = Join-Path $Root (Join-Path 'artifacts' 'test-results')
$DefaultLinuxLua = '/usr/lib/x86_64-linux-gnu/liblua5.4.a'

function Say([string]$Message) { Write-Host "build.ps1: $Message" }
function Fail([string]$Message) { Write-Host "build.ps1: error: $Message"; exit 1 }

function Show-Usage {
    @'
Usage: ./build.ps1 VERB [args...]

  prereqs            check prerequisites (dotnet; Lua 5.4 static library; on Linux also clang,
                     redis-server, redis-tools, python3-redis: install those with ./build.sh prereqs as root)
  publish [--force]  Native AOT publish of server/ (win-x64 on Windows, linux-x64 elsewhere) and copy of
                     the executable to bin/ (skipped while it is newer than every source file, unless --force)
  run [options...]   publish if stale, then run bin/nativekv --bind 127.0.0.1 --port 6379 [options...]
  test [args...]     publish if stale, then dotnet test tests/; ends with "N passed, N failed, N skipped"
  bench [args...]    publish if stale, then perf/compare.sh [args...] (needs bash and redis-benchmark)
  bench micro [...]  BenchmarkDotNet micro-benchmarks: dotnet run -c Release --project perf -- [...]
  fuzz [--seconds N] [--seed S]
                     the protocol fuzzer for N seconds (default 300): random and mutated RESP against
                     bin/nativekv; fails on a crash, a hang, unbounded memory; prints the seed (RSS and
                     descriptor checks read /proc and are skipped on Windows)
  clean              remove bin/, artifacts/ and every project's bin/ and obj/ (keeps .tools/)
  help               this text

Windows: set NATIVEKV_LUA_STATIC_LIB=C:\path\lua54.lib (or --lua-static-lib PATH) before publishing.
'@ | Write-Host
}

function Test-Command([string]$Name) { return [bool](Get-Command $Name -ErrorAction SilentlyContinue) }

# Lua static library: explicit argument, then the environment, then Debian's path on Linux.
$script:LuaStaticLib = $env:NATIVEKV_LUA_STATIC_LIB
$script:ExtraPublishProps = @()
function Split-PublishOptions([object[]]$Arguments) {
    # Takes --lua-static-lib PATH and '-p:...' out of the arguments; returns what is left.
    $rest = @()
    for ($i = 0; $i -lt $Arguments.Count; $i++) {
        $a = [string]$Arguments[$i]
        if ($a -eq '--lua-static-lib') {
            if ($i + 1 -ge $Arguments.Count) { Fail '--lua-static-lib needs a path' }
            $script:LuaStaticLib = [string]$Arguments[$i + 1]; $i++
        } elseif ($a -like '-p:LuaStaticLib=*') {
            $script:LuaStaticLib = $a.Substring('-p:LuaStaticLib='.Length)
        } elseif ($a -like '-p:*') {
            $script:ExtraPublishProps += $a
        } else {
            $rest += $a
        }
    }
    return ,$rest
}

function Get-LuaStaticLib {
    if ($script:LuaStaticLib) { return $script:LuaStaticLib }
    if (-not $OnWindows) { return $DefaultLinuxLua }
    return $null
}

function Assert-BuildPrereqs {
    if (-not (Test-Command 'dotnet')) {
        Fail 'dotnet (the .NET SDK, 9 or newer) is not on PATH and this script cannot install it; install it first'
    }
    $lua = Get-LuaStaticLib
    if (-not $lua) {
        Fail 'no Lua 5.4 static library: set NATIVEKV_LUA_STATIC_LIB=C:\path\lua54.lib or pass --lua-static-lib PATH'
    }
    if (-not (Test-Path -LiteralPath $lua)) {
        if ($OnWindows) { Fail "Lua static library not found: $lua" }
        Fail "Lua static library not found: $lua (install liblua5.4-dev, e.g. with: sudo ./build.sh prereqs)"
    }
    if (-not $OnWindows -and -not (Test-Command 'clang')) {
        Fail 'clang not found (the Native AOT linker on Linux); run: sudo ./build.sh prereqs'
    }
}

function Invoke-Prereqs {
    Say 'checking prerequisites'
    Assert-BuildPrereqs
    Say "dotnet $(& dotnet --version)"
    Say "Lua static library: $(Get-LuaStaticLib)"
    if (-not $OnWindows) {
        $missing = @()
        if (-not (Test-Command 'redis-server')) { $missing += 'redis-server' }
        if (-not ((Test-Command 'redis-cli') -and (Test-Command 'redis-benchmark'))) { $missing += 'redis-tools' }
        $pyOk = $false
        if (Test-Path '/usr/bin/python3') { & /usr/bin/python3 -c 'import redis' 2>$null; $pyOk = ($LASTEXITCODE -eq 0) }
        if (-not $pyOk) { $missing += 'python3-redis' }
        if ($missing.Count -gt 0) {
            Say "missing Debian packages: $($missing -join ' ')"
            Fail 'run: sudo ./build.sh prereqs  (it installs them with apt-get)'
        }
    } else {
        Say 'note: the integration tests and perf/compare.sh also want redis-server, redis-cli and redis-benchmark on PATH'
    }
    Say 'prerequisites OK'
}

# The first source file (C#, project, props or targets) newer than the published binary, or $null.
function Get-NewerSource {
    $since = (Get-Item -LiteralPath $Bin).LastWriteTimeUtc
    $files = @()
    foreach ($dir in 'engine', 'server', 'interop') {
        if (Test-Path $dir) {
            $files += Get-ChildItem -Path $dir -Recurse -File -Include '*.cs', '*.lua', '*.csproj', '*.props', '*.targets' |
                Where-Object { $_.FullName -notmatch '[\\/](bin|obj)[\\/]' }
        }
    }
    $files += Get-ChildItem -Path $Root -File -Filter '*.props'
    foreach ($f in $files) {
        if ($f.LastWriteTimeUtc -gt $since) { return $f.FullName.Substring($Root.Length + 1) }
    }
    return $null
}

function Invoke-DoPublish {
    Assert-BuildPrereqs
    $lua = Get-LuaStaticLib
    Say "publishing (Native AOT, Release, $Rid) into artifacts/publish"
    if (Test-Path $PublishDir) { Remove-Item -Recurse -Force $PublishDir }
    $publishArgs = @('publish', 'server/NativeKv.Server.csproj', '-c', 'Release', '-r', $Rid, '-o', $PublishDir,
        "-p:LuaStaticLib=$lua", '-nologo', '-v:minimal') + $script:ExtraPublishProps
    & dotnet @publishArgs
    if ($LASTEXITCODE -ne 0) { Fail "dotnet publish failed (exit code $LASTEXITCODE)" }
    $built = Join-Path $PublishDir $ExeName
    if (-not (Test-Path $built)) { Fail "publish produced no $built" }
    New-Item -ItemType Directory -Force -Path (Join-Path $Root 'bin') | Out-Null
    # Only the executable goes to bin/: not the .dbg/.pdb symbol files (they stay in artifacts/).
    Get-ChildItem -Path (Join-Path $Root 'bin') -File -Include '*.pdb', '*.dbg' -Recurse -ErrorAction SilentlyContinue |
        Remove-Item -Force
    Copy-Item -Force $built $Bin
    (Get-Item $Bin).LastWriteTimeUtc = [DateTime]::UtcNow
    $size = (Get-Item $Bin).Length
    Say ("bin/{0}: {1} bytes ({2:N1} MiB)" -f $ExeName, $size, ($size / 1MB))
    if (-not $OnWindows -and (Test-Command 'ldd')) {
        $libs = (& ldd $Bin) | ForEach-Object { ($_.Trim() -split '\s+')[0] }
        Say "dynamic libraries: $($libs -join ' ')"
    }
}

function Invoke-PublishIfStale([bool]$Force) {
    if (-not $Force -and (Test-Path $Bin)) {
        $newer = Get-NewerSource
        if (-not $newer) {
            Say "bin/$ExeName is up to date (newer than every source file); not publishing (--force to publish)"
            return
        }
        Say "bin/$ExeName is older than ${newer}: publishing"
    }
    Invoke-DoPublish
}

function Invoke-Test([object[]]$TestArgs) {
    Invoke-Prereqs
    Invoke-PublishIfStale $false
    $env:NATIVEKV_BINARY = $Bin
    Say "NATIVEKV_BINARY=$Bin"
    if (Test-Path $ResultsDir) { Remove-Item -Recurse -Force $ResultsDir }
    $dotnetArgs = @('test', 'tests/NativeKv.Tests.csproj', '-c', 'Release', '-nologo',
        '--logger', 'console;verbosity=minimal',
        '--logger', 'trx;LogFileName=results.trx', '--results-directory', $ResultsDir) + $TestArgs
    & dotnet @dotnetArgs
    $rc = $LASTEXITCODE
    $trx = Get-ChildItem -Path $ResultsDir -Recurse -File -Filter '*.trx' -ErrorAction SilentlyContinue |
        Select-Object -First 1
    if (-not $trx) {
        Say 'no test results (no TRX file in artifacts/test-results): the tests did not run (build failure?)'
        Fail "dotnet test exited with $rc"
    }
    [xml]$xml = Get-Content -Raw -LiteralPath $trx.FullName
    $c = $xml.TestRun.ResultSummary.Counters
    $total = [int]$c.total
    $passed = [int]$c.passed
    $failed = [int]$c.failed + [int]$c.error + [int]$c.timeout + [int]$c.aborted
    $skipped = [Math]::Max(0, $total - $passed - $failed)
    Say "results: $($trx.FullName) (dotnet test exit code $rc)"
    Write-Host "$passed passed, $failed failed, $skipped skipped"
    if ($total -eq 0 -or ($passed + $failed) -eq 0) { Fail 'no tests ran' }
    if ($failed -ne 0 -or $rc -ne 0) { Fail 'FAILED' }
    Say 'all tests passed'
}

function Invoke-Bench([object[]]$BenchArgs) {
    if ($BenchArgs.Count -gt 0 -and $BenchArgs[0] -eq 'micro') {
        $rest = @($BenchArgs | Select-Object -Skip 1)
        Say "dotnet run -c Release --project perf -- $($rest -join ' ')"
        & dotnet run -c Release --project perf/NativeKv.Perf.csproj -- @rest
        exit $LASTEXITCODE
    }
    if (-not (Test-Command 'bash')) {
        Fail 'perf/compare.sh needs bash (Git Bash or WSL on Windows) and redis-benchmark on PATH'
    }
    Invoke-PublishIfStale $false
    $env:NATIVEKV_BINARY = $Bin
    Say "perf/compare.sh $($BenchArgs -join ' ')"
    & bash perf/compare.sh @BenchArgs
    exit $LASTEXITCODE
}

function Invoke-Fuzz([object[]]$FuzzArgs) {
    $seconds = '300'
    $seed = ''
    for ($i = 0; $i -lt $FuzzArgs.Count; $i++) {
        switch ([string]$FuzzArgs[$i]) {
            '--seconds' { $i++; $seconds = [string]$FuzzArgs[$i] }
            '--seed' { $i++; $seed = [string]$FuzzArgs[$i] }
            default { Fail "fuzz takes --seconds N and --seed S (got: $($FuzzArgs[$i]))" }
        }
    }
    if ($seconds -notmatch '^[0-9]+$') { Fail "--seconds must be a positive number (got: $seconds)" }
    if ($seed -ne '' -and $seed -notmatch '^[0-9]+$') { Fail "--seed must be a non-negative number (got: $seed)" }
    Invoke-PublishIfStale $false
    $env:NATIVEKV_BINARY = $Bin
    $env:NATIVEKV_FUZZ_SECONDS = $seconds
    if ($seed -ne '') { $env:NATIVEKV_FUZZ_SEED = $seed }
    Say "fuzzing $Bin for $seconds s (the seed is printed below)"
    & dotnet test tests/NativeKv.Tests.csproj -c Release -nologo --filter 'FullyQualifiedName~FuzzTests.RandomAndMutatedInput' --logger 'console;verbosity=normal'
    exit $LASTEXITCODE
}

function Invoke-Clean {
    Say 'removing bin/ artifacts/ and the bin/ obj/ folders of engine server interop tests perf'
    $dirs = @('bin', 'artifacts', 'perf/BenchmarkDotNet.Artifacts')
    foreach ($p in 'engine', 'server', 'interop', 'tests', 'perf') { $dirs += "$p/bin"; $dirs += "$p/obj" }
    foreach ($d in $dirs) { if (Test-Path $d) { Remove-Item -Recurse -Force $d } }
    Say 'clean'
}

$verb = 'help'
$rest = @()
if ($args.Count -gt 0) { $verb = [string]$args[0]; $rest = @($args | Select-Object -Skip 1) }

switch ($verb) {
    'prereqs' {
        $null = Split-PublishOptions $rest
        Invoke-Prereqs
    }
    'publish' {
        $rest = Split-PublishOptions $rest
        $force = $false
        foreach ($a in $rest) {
            if ($a -eq '--force') { $force = $true } else { Fail "publish takes only --force (got: $a)" }
        }
        Invoke-PublishIfStale $force
    }
    'run' {
        Invoke-PublishIfStale $false
        Say "$Bin --bind 127.0.0.1 --port 6379 $($rest -join ' ')"
        & $Bin --bind 127.0.0.1 --port 6379 @rest
        exit $LASTEXITCODE
    }
    'test' { Invoke-Test $rest }
    'bench' { Invoke-Bench $rest }
    'fuzz' { Invoke-Fuzz $rest }
    'clean' { Invoke-Clean }
    { $_ -in 'help', '-h', '--help' } { Show-Usage }
    default { Show-Usage; Fail "unknown verb: $verb" }
}
