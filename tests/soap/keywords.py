"""Reserved words of the languages government SOAP clients are generated in. A contract name that
is one of them breaks or mangles a generated client (JAX-WS ``wsimport`` refuses a wrapper child
named ``package``). Contextual keywords (C# ``value``, ``field``; Java ``var``, ``record``) and
Perl's feature-gated ones (``state``, ``say``, ``class``, ``field``) are valid identifiers and
are not listed."""

from __future__ import annotations


def words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# The Java Language Specification (SE 21) 3.9, reserved keywords, and the literals of 3.10.
JAVA = words(
    """abstract assert boolean break byte case catch char class const continue default do double
    else enum extends final finally float for goto if implements import instanceof int interface
    long native new package private protected public return short static strictfp super switch
    synchronized this throw throws transient try void volatile while _ true false null"""
)

# C# language reference, "C# keywords": the reserved ones (not the contextual).
CSHARP = words(
    """abstract as base bool break byte case catch char checked class const continue decimal default
    delegate do double else enum event explicit extern false finally fixed float for foreach goto if
    implicit in int interface internal is lock long namespace new null object operator out override
    params private protected public readonly ref return sbyte sealed short sizeof stackalloc static
    string struct switch this throw true try typeof uint ulong unchecked unsafe ushort using virtual
    void volatile while"""
)

# C23 (6.4.1) and C++23 ([lex.key], [lex.digraph] alternative tokens).
C_CPP = words(
    """auto break case char const continue default do double else enum extern float for goto if inline
    int long register restrict return short signed sizeof static struct switch typedef union unsigned
    void volatile while alignas alignof bool constexpr false nullptr static_assert thread_local true
    typeof typeof_unqual _Alignas _Alignof _Atomic _BitInt _Bool _Complex _Decimal128 _Decimal32
    _Decimal64 _Generic _Imaginary _Noreturn _Static_assert _Thread_local
    and and_eq asm bitand bitor catch char8_t char16_t char32_t class compl concept consteval constinit
    const_cast co_await co_return co_yield decltype delete dynamic_cast explicit export friend mutable
    namespace new noexcept not not_eq operator or or_eq private protected public reinterpret_cast
    requires static_cast template this throw try typeid typename using virtual wchar_t xor xor_eq"""
)

# Perl 5 (perlsyn, perlop, perlmod): syntax keywords, named and quote-like operators, special blocks
# and literals.
PERL = words(
    """if elsif else unless while until for foreach do last next redo goto return sub my our local
    package use no require BEGIN END INIT CHECK UNITCHECK AUTOLOAD DESTROY __FILE__ __LINE__
    __PACKAGE__ __DATA__ __END__ __SUB__ and or not xor lt gt le ge eq ne cmp x q qq qw qr qx m s tr y"""
)

LANGUAGES = {"Java": JAVA, "C#": CSHARP, "C/C++": C_CPP, "Perl": PERL}
