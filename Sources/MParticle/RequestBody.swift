import NIOCore

/// The body of one `POST /v2/bulkevents`: a JSON array of batches, written once into the buffer
/// the HTTP client sends.
///
/// Built as `[UInt8]` and handed to the client, a body was copied whole into a `ByteBuffer` on
/// every attempt: a second copy of up to 256 KB per request, alive while the request was, and
/// about a gigabyte of copying per million events on the bench. Here the batches are written
/// straight into the buffer, and retries send the same buffer (a `ByteBuffer` copy shares its
/// storage).
public struct RequestBody: Sendable {
    let buffer: ByteBuffer

    /// The batches as a bulk request's JSON array.
    public init(batches: [EncodedBatch]) {
        var buffer = ByteBufferAllocator().buffer(capacity: batches.reduce(2) { $0 + $1.byteCount + 1 })
        buffer.writeInteger(UInt8(ascii: "["))
        for (index, batch) in batches.enumerated() {
            if index > 0 { buffer.writeInteger(UInt8(ascii: ",")) }
            batch.write(to: &buffer)
        }
        buffer.writeInteger(UInt8(ascii: "]"))
        self.buffer = buffer
    }

    /// Bytes given as they are (tests, tools).
    public init(_ bytes: [UInt8]) {
        buffer = ByteBuffer(bytes: bytes)
    }

    public var count: Int { buffer.readableBytes }

    /// A copy of the bytes (for fakes and tests that read what was sent).
    public var bytes: [UInt8] { Array(buffer.readableBytesView) }
}

/// Where a batch's bytes go: a `JSONWriter` (tests, single batches) or a request's buffer.
protocol BatchSink {
    mutating func append(_ byte: UInt8)
    mutating func append(_ bytes: [UInt8])
    mutating func append(_ text: JSONWriter.Literal)
}

extension JSONWriter: BatchSink {
    mutating func append(_ byte: UInt8) { self.byte(byte) }
    mutating func append(_ bytes: [UInt8]) { raw(bytes) }
    mutating func append(_ text: JSONWriter.Literal) { raw(text) }
}

extension ByteBuffer: BatchSink {
    mutating func append(_ byte: UInt8) { writeInteger(byte) }
    mutating func append(_ bytes: [UInt8]) { writeBytes(bytes) }
    mutating func append(_ text: JSONWriter.Literal) { writeString(text.text) }
}
