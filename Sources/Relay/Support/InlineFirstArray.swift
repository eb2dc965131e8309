/// An array that keeps its first element inline and only the rest in an `Array`.
///
/// A record's transform outcome nearly always holds exactly one event to send (or one skip), and
/// an `Array` of one was an allocation per record on the hot path (and a free on another thread,
/// in the pipeline's actor).
public struct InlineFirstArray<Element>: RandomAccessCollection, ExpressibleByArrayLiteral {
    private var head: Element?
    private var rest: [Element] = []

    public init() {}

    public init(arrayLiteral elements: Element...) {
        for element in elements { append(element) }
    }

    public var startIndex: Int { 0 }
    public var endIndex: Int { head == nil ? 0 : 1 + rest.count }

    public subscript(position: Int) -> Element {
        guard position > 0 else {
            guard position == 0, let head else { preconditionFailure("index \(position) out of range") }
            return head
        }
        return rest[position - 1]
    }

    public mutating func append(_ element: Element) {
        if head == nil { head = element } else { rest.append(element) }
    }

    /// Hands each element to `body` in order, in place: `body` can move its parts out (with
    /// `swap`) instead of copying them (the pipeline's actor takes each record's sends apart
    /// this way).
    public mutating func updateEach(_ body: (inout Element) -> Void) {
        guard head != nil else { return }
        body(&head!)
        for index in rest.indices {
            body(&rest[index])
        }
    }
}

extension InlineFirstArray: Sendable where Element: Sendable {}

extension InlineFirstArray: Equatable where Element: Equatable {
    public static func == (a: Self, b: Self) -> Bool { a.elementsEqual(b) }
}
