// The shared fixtures (loopback harness, certificates, log recording) for every file of this suite.
@_exported import SriovTestSupport
