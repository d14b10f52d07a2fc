// Test classes run in parallel, two at a time (the machines have two cores); the tests inside one class
// run one after another (the NUnit default under ParallelScope.Fixtures), as they share one server.
// Classes that load the machine heavily are marked [NonParallelizable] and run alone.
using NUnit.Framework;

[assembly: Parallelizable(ParallelScope.Fixtures)]
[assembly: LevelOfParallelism(2)]
