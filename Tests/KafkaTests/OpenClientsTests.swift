import Testing
@testable import Kafka

/// The count `MockCluster.withCluster` waits on before it stops the brokers.
@Suite(.timeLimit(.minutes(10))) struct OpenClientsTests {
    /// librdkafka may give a new client the address of one being destroyed before the old one
    /// is forgotten: forgetting the old one must leave the new one counted.
    @Test func aReusedAddressForgetsTheOldClientNotTheNewOne() throws {
        let bootstrap = "open-clients-test-\(UInt64.random(in: 0...UInt64.max))"
        let handle = try #require(OpaquePointer(bitPattern: 0x5EED_0000))
        OpenClients.opened(handle, bootstrapServers: bootstrap)
        OpenClients.opened(handle, bootstrapServers: bootstrap)
        #expect(OpenClients.count(bootstrapServers: bootstrap) == 2)
        OpenClients.destroyed(handle)
        #expect(OpenClients.count(bootstrapServers: bootstrap) == 1, "the new client is still open")
        OpenClients.destroyed(handle)
        #expect(OpenClients.count(bootstrapServers: bootstrap) == 0)
    }
}
