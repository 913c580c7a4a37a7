// Apache Santuario (Debian libxml-security-java): the Java reference for XML-DSig.
//   java Dsig verify FILE CA.pem        -> "VALID <signer subject>" (exit 0) or "INVALID <why>" (exit 1)
//   java Dsig sign IN OUT KEY.pem CERT.pem PARENT_LOCAL_NAME
//       an enveloped RSA-SHA256 signature (exclusive C14N, SHA-256, Reference URI="") appended to
//       the first element named PARENT_LOCAL_NAME (edXMLHeader for a package), as an edXML sender would.
import java.io.ByteArrayInputStream;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.cert.CertPathValidator;
import java.security.cert.CertificateFactory;
import java.security.cert.PKIXParameters;
import java.security.cert.TrustAnchor;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import javax.xml.parsers.DocumentBuilderFactory;
import org.apache.xml.security.Init;
import org.apache.xml.security.c14n.Canonicalizer;
import org.apache.xml.security.keys.KeyInfo;
import org.apache.xml.security.keys.content.X509Data;
import org.apache.xml.security.signature.XMLSignature;
import org.apache.xml.security.transforms.Transforms;
import org.apache.xml.security.utils.Constants;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;

public class Dsig {
    public static void main(String[] args) throws Exception {
        Init.init();
        if (args[0].equals("verify")) {
            System.exit(verify(args[1], args[2]));
        }
        sign(args[1], args[2], args[3], args[4], args[5]);
    }

    static Document parse(String path) throws Exception {
        DocumentBuilderFactory factory = DocumentBuilderFactory.newInstance();
        factory.setNamespaceAware(true);
        factory.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
        return factory.newDocumentBuilder().parse(new FileInputStream(path));
    }

    static int verify(String file, String caPath) throws Exception {
        Document document = parse(file);
        NodeList signatures = document.getElementsByTagNameNS(Constants.SignatureSpecNS, "Signature");
        if (signatures.getLength() != 1) {
            System.out.println("INVALID " + signatures.getLength() + " signatures");
            return 1;
        }
        XMLSignature signature = new XMLSignature((Element) signatures.item(0), "");
        X509Certificate signer = signature.getKeyInfo().getX509Certificate();
        if (!signature.checkSignatureValue(signer)) {
            System.out.println("INVALID signature value or digest");
            return 1;
        }
        // Trust: a PKIX path from the signer (with the certificates in X509Data) to the CA.
        CertificateFactory certificates = CertificateFactory.getInstance("X.509");
        X509Certificate ca = (X509Certificate) certificates.generateCertificate(new FileInputStream(caPath));
        List<X509Certificate> path = new ArrayList<>();
        path.add(signer);
        KeyInfo keyInfo = signature.getKeyInfo();
        for (int i = 0; i < keyInfo.lengthX509Data(); i++) {
            X509Data data = keyInfo.itemX509Data(i);
            for (int j = 0; j < data.lengthCertificate(); j++) {
                X509Certificate cert = data.itemCertificate(j).getX509Certificate();
                if (!cert.equals(signer) && !cert.equals(ca)) path.add(cert);
            }
        }
        PKIXParameters parameters = new PKIXParameters(Collections.singleton(new TrustAnchor(ca, null)));
        parameters.setRevocationEnabled(false);  // the connector's policy checks CRLs; here: the signature
        CertPathValidator.getInstance("PKIX").validate(certificates.generateCertPath(path), parameters);
        // serialNumber (2.5.4.5) holds the OrganId; named, or Java prints it as hex.
        String subject = signer.getSubjectX500Principal().getName("RFC2253", Map.of("2.5.4.5", "SERIALNUMBER"));
        System.out.println("VALID " + subject);
        return 0;
    }

    static void sign(String in, String out, String keyPath, String certPath, String parent) throws Exception {
        Document document = parse(in);
        String pem = new String(Files.readAllBytes(Paths.get(keyPath)));
        byte[] der = Base64.getMimeDecoder().decode(pem.replaceAll("-----[A-Z ]+-----", ""));
        PrivateKey key = KeyFactory.getInstance("RSA").generatePrivate(new PKCS8EncodedKeySpec(der));
        X509Certificate cert = (X509Certificate) CertificateFactory.getInstance("X.509")
            .generateCertificate(new FileInputStream(certPath));

        XMLSignature signature = new XMLSignature(document, "",
            "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256", Canonicalizer.ALGO_ID_C14N_EXCL_OMIT_COMMENTS);
        Element where = (Element) document.getElementsByTagNameNS("*", parent).item(0);
        where.appendChild(signature.getElement());
        Transforms transforms = new Transforms(document);
        transforms.addTransform(Transforms.TRANSFORM_ENVELOPED_SIGNATURE);
        transforms.addTransform(Transforms.TRANSFORM_C14N_EXCL_OMIT_COMMENTS);
        signature.addDocument("", transforms, "http://www.w3.org/2001/04/xmlenc#sha256");
        signature.addKeyInfo(cert);
        signature.sign(key);
        try (FileOutputStream output = new FileOutputStream(out)) {
            // Serialised as is: no pretty-printing after signing.
            javax.xml.transform.TransformerFactory.newInstance().newTransformer().transform(
                new javax.xml.transform.dom.DOMSource(document), new javax.xml.transform.stream.StreamResult(output));
        }
    }
}
