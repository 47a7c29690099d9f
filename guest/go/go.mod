module rvisor/gotest

go 1.19
