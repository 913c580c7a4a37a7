// A .NET client: the proxy Mono's `wsdl` tool generates from the connector's WSDL (an ASMX-style
// SoapHttpClientProtocol), compiled with `mcs`.
// Usage: mono client.exe BASE_URL|default PACKAGE_FILE MESSAGE_ID DOSSIER_CODE PROCEDURE_CODE
// "default": the proxy's own Url (the WSDL's address), authenticated by the UsernameToken
// SoapExtension of UsernameToken.cs when client.exe.config registers it; a BASE_URL (https):
// HTTP Basic over TLS.
// Prints: "sent STATE EXCHANGE_ID", "status EXCHANGE_ID STATE", "fault CODE FIELD".
using System;
using System.IO;
using System.Net;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Web.Services.Protocols;
using System.Xml;

// The generated proxy, sending HTTP Basic with every request: ASMX proxies send Credentials only
// after a 401 challenge, and the connector answers an unauthenticated call with a SOAP fault.
public class BasicAuthConnectorService : ConnectorService {
    public string BasicAuthorization;

    protected override WebRequest GetWebRequest(Uri uri) {
        var request = base.GetWebRequest(uri);
        if (BasicAuthorization != null) request.Headers["Authorization"] = BasicAuthorization;
        return request;
    }
}

public static class Client {
    const string Tns = "urn:vn:lienthong:connector:1";

    public static int Main(string[] args) {
        var service = new BasicAuthConnectorService();  // Url: the WSDL's address
        if (args[0] != "default") {
            service.Url = args[0] + "/soap";
            Authenticate(service);
        }

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

    // Credentials: HTTP Basic from the environment, over TLS (the connector accepts Basic only
    // there). The server certificate must chain to CONNECTOR_CA_FILE (the development CA in the
    // tests) and match the host. (Client certificates would go in service.ClientCertificates.)
    static void Authenticate(BasicAuthConnectorService service) {
        var caFile = Environment.GetEnvironmentVariable("CONNECTOR_CA_FILE");
        if (caFile != null) TrustOnly(new X509Certificate2(caFile));
        var user = Environment.GetEnvironmentVariable("CONNECTOR_USERNAME");
        if (user == null) return;
        var pair = user + ":" + Environment.GetEnvironmentVariable("CONNECTOR_PASSWORD");
        service.BasicAuthorization = "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes(pair));
    }

    // Accept a server certificate only if it chains to this CA and names the host we called.
    static void TrustOnly(X509Certificate2 ca) {
        ServicePointManager.ServerCertificateValidationCallback = (sender, certificate, chain, errors) => {
            if ((errors & SslPolicyErrors.RemoteCertificateNameMismatch) != 0) return false;
            if ((errors & SslPolicyErrors.RemoteCertificateNotAvailable) != 0) return false;
            var custom = new X509Chain();
            custom.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            custom.ChainPolicy.VerificationFlags = X509VerificationFlags.AllowUnknownCertificateAuthority;
            custom.ChainPolicy.ExtraStore.Add(ca);
            if (!custom.Build(new X509Certificate2(certificate))) return false;
            var root = custom.ChainElements[custom.ChainElements.Count - 1].Certificate;
            return root.Thumbprint == ca.Thumbprint;
        };
    }
}
