# Spanish, written for escalate (no lexicon with a clear licence was found in the
# registries); valences on VADER's -4..4 scale. Same licence as escalate.
-3.4	odio odias odia odiamos odian odiado asqueroso asquerosa asquerosos asquerosas
-3.1	horrible horribles pesimo pesima pesimos pesimas espantoso espantosa fatal fatales
-3	terrible terribles desastre desastroso desastrosa basura verguenza vergonzoso vergonzosa estafa estafas estafador estafadores timo ladrones robo
-2.8	inutil inutiles incompetente incompetentes harto harta hartos hartas furioso furiosa indignado indignada indignante
-2.6	enfadado enfadada enfadados enfadadas enojado enojada cabreado cabreada molesto molesta asco ridiculo ridicula ridiculos ridiculas
-2.4	malo mala malos malas mal fraude engano enganado enganada frustrado frustrada frustrante decepcionado decepcionada decepcion decepcionante
-2.2	roto rota rotos rotas estropeado estropeada averiado averiada fallo fallos falla fallas error errores queja quejas reclamacion inaceptable
-2	problema problemas triste tristes preocupado preocupada peor peores lento lenta lentos lentas tarde retraso retrasos abusivo abusiva
-1.8	perdido perdida perdidos perdidas dano danado danada cobro cobrado cobraron injusto injusta imposible caro cara caros
-1.5	lamentablemente desgraciadamente dificil dificiles confuso confusa complicado complicada cansado cansada esperando
-1.2	duda dudas raro rara extrano extrana
1.3	vale bueno buena buenos buenas bien correcto correcta claro util utiles
1.5	ayuda ayudado ayudaste rapido rapida facil sencillo agradable amable amables
1.9	gracias agradezco agradecido agradecida contento contenta satisfecho satisfecha resuelto resuelta solucionado solucionada
2.3	genial perfecto perfecta estupendo estupenda fantastico fantastica maravilloso maravillosa encantado encantada feliz felices
2.8	excelente excelentes increible increibles buenisimo buenisima encanta encantan encanto
3.1	amo adoro
