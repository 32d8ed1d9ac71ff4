using System.Globalization;

namespace Quiver.Cli.Bench;

/// <summary>Parses <c>--name value</c> / <c>--name=value</c> / <c>--flag</c> arguments against a known set.</summary>
internal sealed class BenchArgs
{
    private readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);

    public BenchArgs(IReadOnlyList<string> args, IReadOnlySet<string> options, IReadOnlySet<string> flags)
    {
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            var eq = arg.IndexOf('=', StringComparison.Ordinal);
            var name = eq > 0 ? arg[..eq] : arg;
            if (flags.Contains(name))
            {
                _values[name] = "true";
                continue;
            }

            if (!options.Contains(name))
                throw new ArgumentException($"unknown option {name}; known: {string.Join(", ", options.Concat(flags).Order())}");
            if (eq > 0)
                _values[name] = arg[(eq + 1)..];
            else if (i + 1 < args.Count)
                _values[name] = args[++i];
            else
                throw new ArgumentException($"{name} needs a value");
        }
    }

    public bool Has(string name) => _values.ContainsKey(name);

    public string? String(string name) => _values.GetValueOrDefault(name);

    public string Required(string name) => _values.GetValueOrDefault(name) ?? throw new ArgumentException($"{name} is required");

    public int Int(string name, int fallback, int min = 1)
    {
        if (!_values.TryGetValue(name, out var text))
            return fallback;
        if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) || n < min)
            throw new ArgumentException($"{name}: expected an integer >= {min}, got '{text}'");
        return n;
    }

    public double Double(string name, double fallback)
    {
        if (!_values.TryGetValue(name, out var text))
            return fallback;
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) || d <= 0)
            throw new ArgumentException($"{name}: expected a positive number, got '{text}'");
        return d;
    }

    public int[] IntList(string name, int[] fallback)
    {
        if (!_values.TryGetValue(name, out var text))
            return fallback;
        try
        {
            return [.. text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(t => int.Parse(t, NumberStyles.Integer, CultureInfo.InvariantCulture))];
        }
        catch (FormatException)
        {
            throw new ArgumentException($"{name}: expected comma-separated integers, got '{text}'");
        }
    }
}
