// A C++ client: gSOAP's wsdl2h + soapcpp2 with their default options, from the connector's WSDL.
// With a SOAP 1.2 binding in the WSDL, wsdl2h imports soap12.h: the generated client speaks
// SOAP 1.2, so it calls the WSDL's SOAP 1.2 port (/soap12).
// Usage: client BASE_URL PACKAGE_FILE MESSAGE_ID DOSSIER_CODE PROCEDURE_CODE
// Prints: "sent STATE EXCHANGE_ID", "status EXCHANGE_ID STATE", "fault CODE FIELD".
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

#include "soapH.h"
#include "ConnectorPort.nsmap"

// HTTPS: built WITH_OPENSSL; the server certificate is verified against CONNECTOR_CA_FILE (the
// development CA in the tests), host name included.
static bool trust(struct soap *soap) {
    const char *ca_file = std::getenv("CONNECTOR_CA_FILE");
    return soap_ssl_client_context(soap, SOAP_SSL_DEFAULT, NULL, NULL, ca_file, NULL, NULL) == SOAP_OK;
}

// Credentials: HTTP Basic from the environment (the connector accepts Basic over TLS only).
// gSOAP clears userid/passwd after each call, so every call sets them again.
static struct soap *authenticate(struct soap *soap) {
    const char *user = std::getenv("CONNECTOR_USERNAME");
    if (user == NULL) return soap;
    soap->userid = user;
    soap->passwd = std::getenv("CONNECTOR_PASSWORD");
    return soap;
}

static int failed(struct soap *soap) {
    soap_print_fault(soap, stderr);
    return 1;
}

int main(int argc, char **argv) {
    if (argc != 6) return 2;
    const std::string endpoint = std::string(argv[1]) + "/soap12";
    std::ifstream file(argv[2], std::ios::binary);
    std::vector<unsigned char> bytes((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());

    struct soap *soap = soap_new1(SOAP_C_UTFSTRING);
    if (!trust(soap)) return failed(soap);

    ns1__Dossier dossier;
    dossier.soap_default(soap);
    dossier.dossierCode = argv[4];
    dossier.procedureCode = argv[5];
    ns1__sendDocument request;
    request.soap_default(soap);
    request.messageId = argv[3];
    request.edxmlPackage.__ptr = bytes.data();  // gSOAP base64-encodes it
    request.edxmlPackage.__size = static_cast<int>(bytes.size());
    request.kind = ns1__DocumentKind__INCOMING;
    request.senderUsername = "cbtiepnhan";
    request.dossier = &dossier;
    ns1__sendDocumentResponse sent;
    if (soap_call___ns1__sendDocument_(authenticate(soap), endpoint.c_str(), NULL, &request, sent) != SOAP_OK) return failed(soap);
    std::cout << "sent " << sent.receipt->state << " " << sent.receipt->exchangeId << std::endl;

    std::string dossierCode = argv[4];
    ns1__getStatus query;
    query.soap_default(soap);
    query.dossierCode = &dossierCode;
    ns1__getStatusResponse status;
    if (soap_call___ns1__getStatus_(authenticate(soap), endpoint.c_str(), NULL, &query, status) != SOAP_OK) return failed(soap);
    std::cout << "status " << status.exchange->exchangeId << " " << status.exchange->state << std::endl;

    std::string unknown = "no-such-dossier";
    query.dossierCode = &unknown;
    if (soap_call___ns1__getStatus_(authenticate(soap), endpoint.c_str(), NULL, &query, status) == SOAP_OK) {
        std::cout << "fault none" << std::endl;
    } else {
        // The WSDL's typed fault, deserialised into the generated ns1__ConnectorFault.
        struct SOAP_ENV__Detail *detail = soap->fault->SOAP_ENV__Detail;
        if (detail == NULL || detail->ns1__ConnectorFault_ == NULL) return failed(soap);
        ns1__ConnectorFault *fault = detail->ns1__ConnectorFault_;
        std::cout << "fault " << fault->code << " " << (fault->field ? *fault->field : "-") << std::endl;
    }
    soap_destroy(soap);
    soap_end(soap);
    soap_free(soap);
    return 0;
}
