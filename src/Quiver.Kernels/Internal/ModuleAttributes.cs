using System.Runtime.CompilerServices;

// Hot loops here keep vector locals and would otherwise pay for zeroing them in every prolog.
[module: SkipLocalsInit]
