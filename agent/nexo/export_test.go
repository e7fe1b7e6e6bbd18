package nexo

// Test helpers the external benchmarks (package nexo_test, which may import
// agent/api: agent/config imports nexo) use.
var StartAcquirer = startAcquirer
