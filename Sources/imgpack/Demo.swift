import ArgumentParser

struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Simulate an instance, pack it, verify it and read it back.")
    func run() throws { throw CommandFailure(.internal, "demo needs the simulator") }
}
