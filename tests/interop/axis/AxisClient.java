// An Apache Axis 1.4 client: the stubs WSDL2Java generates from the connector's WSDL with its
// default options (package _1.connector.lienthong.vn, from the namespace), compiled with javac.
// Usage: java AxisClient PACKAGE_FILE MESSAGE_ID DOSSIER_CODE PROCEDURE_CODE
// The endpoint is the WSDL's own address (the generated locator's default: /soap).
// Prints: "sent STATE EXCHANGE_ID", "status EXCHANGE_ID STATE", "fault CODE FIELD".
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Instant;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.Base64;
import javax.xml.soap.SOAPElement;
import org.apache.axis.client.Stub;
import org.apache.axis.message.SOAPHeaderElement;
import _1.connector.lienthong.vn.*;

public class AxisClient {
    public static void main(String[] args) throws Exception {
        ConnectorPort port = new ConnectorServiceLocator().getConnectorPort();  // the WSDL's address

        Dossier dossier = new Dossier();
        dossier.setDossierCode(args[2]);
        dossier.setProcedureCode(args[3]);
        byte[] signedPackage = Files.readAllBytes(Paths.get(args[0]));  // Axis base64-encodes it
        authenticate((Stub) port);
        Receipt receipt = port.sendDocument(args[1], signedPackage, DocumentKind.INCOMING, "cbtiepnhan", dossier);
        System.out.println("sent " + receipt.getState() + " " + receipt.getExchangeId());

        authenticate((Stub) port);
        ExchangeStatus status = port.getStatus(null, args[2]);
        System.out.println("status " + status.getExchangeId() + " " + status.getState());

        authenticate((Stub) port);
        try {
            port.getStatus(null, "no-such-dossier");
            System.out.println("fault none");
        } catch (ConnectorFault fault) {  // the WSDL's typed fault, an AxisFault subclass
            System.out.println("fault " + fault.getCode() + " " + fault.getField());
        }
    }

    static final String WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd";
    static final String WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd";
    static final String DIGEST =
        "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordDigest";

    /** Credentials from the environment: a WS-Security UsernameToken with PasswordDigest as a stub
     *  header (Axis 1.4 has no WS-Security of its own). A nonce is used once: call it before every call. */
    static void authenticate(Stub stub) throws Exception {
        String user = System.getenv("CONNECTOR_USERNAME");
        if (user == null) return;
        byte[] nonce = new byte[16];
        new SecureRandom().nextBytes(nonce);
        String created = DateTimeFormatter.ISO_INSTANT.format(Instant.now().truncatedTo(ChronoUnit.SECONDS));
        MessageDigest sha1 = MessageDigest.getInstance("SHA-1");  // Base64(SHA-1(nonce + created + password))
        sha1.update(nonce);
        sha1.update(created.getBytes(StandardCharsets.UTF_8));
        sha1.update(System.getenv("CONNECTOR_PASSWORD").getBytes(StandardCharsets.UTF_8));

        SOAPHeaderElement security = new SOAPHeaderElement(WSSE, "Security");
        security.setPrefix("wsse");
        SOAPElement token = security.addChildElement("UsernameToken", "wsse", WSSE);
        token.addChildElement("Username", "wsse", WSSE).addTextNode(user);
        SOAPElement password = token.addChildElement("Password", "wsse", WSSE);
        password.setAttribute("Type", DIGEST);
        password.addTextNode(Base64.getEncoder().encodeToString(sha1.digest()));
        token.addChildElement("Nonce", "wsse", WSSE).addTextNode(Base64.getEncoder().encodeToString(nonce));
        token.addChildElement("Created", "wsu", WSU).addTextNode(created);
        stub.clearHeaders();
        stub.setHeader(security);
    }
}
