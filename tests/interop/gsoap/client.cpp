// A C++ client: gSOAP's wsdl2h + soapcpp2 with their default options, from the connector's
// /soap?wsdl (one SOAP 1.1 binding: a SOAP 1.1 client), calling the WSDL's own address (the
// endpoint argument NULL). Credentials: a UsernameToken with PasswordDigest from gSOAP's wsse
// plugin (#import "wsse.h" in the header wsdl2h wrote; plugin/wsseapi.cpp, smdevp.c, mecevp.c).
// Usage: client PACKAGE_FILE MESSAGE_ID DOSSIER_CODE PROCEDURE_CODE
// Prints: "sent STATE EXCHANGE_ID", "status EXCHANGE_ID STATE", "fault CODE FIELD".
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

#include "soapH.h"
#include "ConnectorPort.nsmap"
#include "plugin/wsseapi.h"

// Credentials from the environment: the wsse plugin writes the Security header (nonce, Created,
// Base64(SHA-1(nonce + created + password))). A nonce is used once: call it before every call.
static struct soap *authenticate(struct soap *soap) {
    const char *user = std::getenv("CONNECTOR_USERNAME");
    if (user == NULL) return soap;
    soap_wsse_delete_Security(soap);
    soap_wsse_add_UsernameTokenDigest(soap, NULL, user, std::getenv("CONNECTOR_PASSWORD"));
    return soap;
}

static int failed(struct soap *soap) {
    soap_print_fault(soap, stderr);
    return 1;
}

int main(int argc, char **argv) {
    if (argc != 5) return 2;
    std::ifstream file(argv[1], std::ios::binary);
    std::vector<unsigned char> bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());

    struct soap *soap = soap_new1(SOAP_C_UTFSTRING);
    soap_register_plugin(soap, soap_wsse);

    ns1__Dossier dossier;
    dossier.soap_default(soap);
    dossier.dossierCode = argv[3];
    dossier.procedureCode = argv[4];
    ns1__sendDocument request;
    request.soap_default(soap);
    request.messageId = argv[2];
    request.edxmlPackage.__ptr = bytes.data();  // gSOAP base64-encodes it
    request.edxmlPackage.__size = static_cast<int>(bytes.size());
    request.kind = ns1__DocumentKind__INCOMING;
    request.senderUsername = "cbtiepnhan";
    request.dossier = &dossier;
    ns1__sendDocumentResponse sent;
    // NULL endpoint: the address in the WSDL the client was generated from.
    if (soap_call___ns1__sendDocument(authenticate(soap), NULL, NULL, &request, sent) != SOAP_OK) return failed(soap);
    std::cout << "sent " << sent.receipt->state << " " << sent.receipt->exchangeId << std::endl;

    std::string dossierCode = argv[3];
    ns1__getStatus query;
    query.soap_default(soap);
    query.dossierCode = &dossierCode;
    ns1__getStatusResponse status;
    if (soap_call___ns1__getStatus(authenticate(soap), NULL, NULL, &query, status) != SOAP_OK) return failed(soap);
    std::cout << "status " << status.exchange->exchangeId << " " << status.exchange->state << std::endl;

    std::string unknown = "no-such-dossier";
    query.dossierCode = &unknown;
    if (soap_call___ns1__getStatus(authenticate(soap), NULL, NULL, &query, status) == SOAP_OK) {
        std::cout << "fault none" << std::endl;
    } else {
        // The WSDL's typed fault, deserialised into the generated ns1__ConnectorFault.
        struct SOAP_ENV__Detail *detail = soap->fault->detail;
        if (detail == NULL || detail->ns1__ConnectorFault_ == NULL) return failed(soap);
        ns1__ConnectorFault *fault = detail->ns1__ConnectorFault_;
        std::cout << "fault " << fault->code << " " << (fault->field ? *fault->field : "-") << std::endl;
    }
    soap_destroy(soap);
    soap_end(soap);
    soap_free(soap);
    return 0;
}
