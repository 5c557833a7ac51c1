namespace Ingest.Api.Payloads;

/// <summary>
/// Upload ids (the envelope's payload id): random version-4 GUIDs without a system call each. <see cref="Guid.NewGuid"/>
/// reads the kernel's CSPRNG once per call (a <c>read</c> of <c>/dev/urandom</c> here: 1.9% of the API's CPU at 1 KB in
/// issue 18's profile); the id only has to be unique, not unguessable — only the API produces to the topic, clients never
/// name an upload by it — so 122 bits from <see cref="Random.Shared"/> (per thread, seeded from the OS) are enough.
/// </summary>
public static class PayloadIds
{
    public static Guid Next()
    {
        Span<byte> bytes = stackalloc byte[16];
        Random.Shared.NextBytes(bytes);
        bytes[7] = (byte)((bytes[7] & 0x0F) | 0x40); // version 4 (the high nibble of the third group, little-endian layout)
        bytes[8] = (byte)((bytes[8] & 0x3F) | 0x80); // RFC 9562 variant
        return new Guid(bytes);
    }
}
