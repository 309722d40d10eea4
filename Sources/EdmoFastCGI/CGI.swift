import EdmoAPI
import EdmoService
import Foundation

/// Plain CGI: one request from the environment and stdin, the answer on stdout, then exit.
public enum CGI {
    public static func serveOnce(maxBodyBytes: Int, handler: (Request) -> Response) {
        let params = ProcessInfo.processInfo.environment
        let declared = params["CONTENT_LENGTH"].flatMap { Int($0) } ?? 0
        var body: [UInt8] = []
        if declared > 0 && declared <= maxBodyBytes {
            body = Array(FileHandle.standardInput.readData(ofLength: declared))
        }
        let response = handler(Request.fromCGI(params: params, body: body))
        response.send(to: StandardOutputWriter())
    }
}

/// CGI: the response onto stdout.
struct StandardOutputWriter: ResponseWriter {
    func write(_ bytes: [UInt8]) throws { FileHandle.standardOutput.write(Data(bytes)) }
    func flush() throws {}
}
