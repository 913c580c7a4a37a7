// A .NET client: the proxy Mono's `wsdl` tool generates from the connector's WSDL (an ASMX-style
// SoapHttpClientProtocol), compiled with `mcs`.
// Usage: mono client.exe BASE_URL PACKAGE_FILE MESSAGE_ID DOSSIER_CODE PROCEDURE_CODE
// Prints: "sent STATE EXCHANGE_ID", "status EXCHANGE_ID STATE", "fault CODE FIELD".
using System;
using System.IO;
using System.Net;
using System.Web.Services.Protocols;
using System.Xml;

public static class Client {
    const string Tns = "urn:vn:lienthong:connector:1";

    public static int Main(string[] args) {
        var service = new ConnectorService { Url = args[0] + "/soap" };
        Authenticate(service);

        var dossier = new Dossier { dossierCode = args[3], procedureCode = args[4] };
        var request = new sendDocument {
            messageId = args[2],
            edxmlPackage = File.ReadAllBytes(args[1]),  // XmlSerializer base64-encodes it
            kind = DocumentKind.INCOMING,
            senderUsername = "cbtiepnhan",
            dossier = dossier,
        };
        var receipt = service.sendDocument(request).receipt;
        Console.WriteLine("sent " + receipt.state + " " + receipt.exchangeId);

        var status = service.getStatus(new getStatus { dossierCode = args[3] }).exchange;
        Console.WriteLine("status " + status.exchangeId + " " + status.state);

        try {
            service.getStatus(new getStatus { dossierCode = "no-such-dossier" });
            Console.WriteLine("fault none");
        } catch (SoapException fault) {
            // ASMX proxies raise SoapException; the typed detail is the WSDL's tns:ConnectorFault.
            var names = new XmlNamespaceManager(fault.Detail.OwnerDocument.NameTable);
            names.AddNamespace("c", Tns);
            var detail = fault.Detail.SelectSingleNode("c:ConnectorFault", names);
            Console.WriteLine("fault " + detail.SelectSingleNode("c:code", names).InnerText + " "
                + detail.SelectSingleNode("c:field", names).InnerText);
        }
        return 0;
    }

    // Credentials, when the connector asks for them: HTTP Basic (over TLS) from the environment.
    // (The ASMX proxy has no WS-Security; client certificates go in service.ClientCertificates.)
    static void Authenticate(ConnectorService service) {
        var user = Environment.GetEnvironmentVariable("CONNECTOR_USERNAME");
        if (user == null) return;
        service.Credentials = new NetworkCredential(user, Environment.GetEnvironmentVariable("CONNECTOR_PASSWORD"));
        service.PreAuthenticate = true;
    }
}
